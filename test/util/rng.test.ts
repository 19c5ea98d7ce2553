import { createRng, deriveSeed, Rng, shuffle } from '../../src/util/rng';

const draws = (r: Rng, n: number) => Array.from({ length: n }, () => r.uint32());

describe('createRng', () => {
  it('matches a reference splitmix64-seeded xoroshiro128+ (low 32 bits of each output)', () => {
    // Computed with a 64-bit Python implementation of splitmix64 (seeding) + xoroshiro128+ (24, 16, 37).
    expect(draws(createRng(42), 6)).toEqual([3797049240, 1052797783, 1962151222, 3868587078, 1611693572, 660149389]);
    expect(draws(createRng(-1), 3)).toEqual([4149980905, 4151286192, 1381649032]);
    expect(draws(createRng(2 ** 53 - 1), 2)).toEqual([2801157943, 4076980211]);
    // float = ((d0 >>> 5) * 2^26 + (d1 >>> 6)) / 2^53 from the first two draws of seed 42.
    expect(createRng(42).float()).toBe(0.884069414773014);
  });

  it('gives the same stream for the same seed and different streams for neighbouring seeds', () => {
    expect(draws(createRng(7), 20)).toEqual(draws(createRng(7), 20));
    const firsts = new Set(Array.from({ length: 1000 }, (_, s) => createRng(s).uint32()));
    expect(firsts.size).toBe(1000);
  });

  it('rejects a non-integer seed', () => {
    expect(() => createRng(1.5)).toThrow(/expected the seed to be an integer/);
  });
});

describe('Rng.state / fromState', () => {
  it('resumes mid-stream exactly, through JSON', () => {
    const r = createRng(123);
    r.float();
    r.normal();
    r.int(7);
    const saved = JSON.stringify(r.state());
    const expected = [r.float(), r.int(1000), r.normal(), r.uint32()];
    const resumed = Rng.fromState(JSON.parse(saved));
    expect([resumed.float(), resumed.int(1000), resumed.normal(), resumed.uint32()]).toEqual(expected);
  });

  it('clone() continues independently from the same position', () => {
    const a = createRng(5);
    a.uint32();
    const b = a.clone();
    expect(draws(b, 5)).toEqual(draws(a, 5));
  });

  it('rejects a malformed or all-zero state', () => {
    expect(() => Rng.fromState([1, 2, 3])).toThrow(/4 int32 words/);
    expect(() => Rng.fromState([0, 0, 0, 0])).toThrow(/all-zero state/);
    expect(() => Rng.fromState([1, 2, 3, 2 ** 40])).toThrow(/4 int32 words/);
  });
});

describe('distributions', () => {
  it('float() lies in [0, 1) with mean ~1/2 and variance ~1/12', () => {
    const r = createRng(1);
    const xs = Array.from({ length: 20000 }, () => r.float());
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((a, b) => a + b) / xs.length;
    const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01); // sd of mean = 0.29 / sqrt(2e4) = 0.002
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(0.003);
  });

  it('int(n) covers 0..n-1 uniformly (chi-square) and int(1) is 0', () => {
    const r = createRng(2);
    const n = 10;
    const counts = new Array(n).fill(0);
    for (let i = 0; i < 20000; i++) counts[r.int(n)]++;
    const exp = 20000 / n;
    const chi2 = counts.reduce((a, c) => a + (c - exp) ** 2 / exp, 0);
    expect(chi2).toBeLessThan(27.9); // p = 0.001 for 9 degrees of freedom
    expect(r.int(1)).toBe(0);
  });

  it('int(n) handles n above 2^32', () => {
    const r = createRng(3);
    const big = 2 ** 40 + 3;
    for (let i = 0; i < 100; i++) {
      const x = r.int(big);
      expect(Number.isInteger(x) && x >= 0 && x < big).toBe(true);
    }
  });

  it('int(n) rejects n < 1 and non-integers', () => {
    const r = createRng(3);
    expect(() => r.int(0)).toThrow(/positive integer/);
    expect(() => r.int(2.5)).toThrow(/positive integer/);
  });

  it('normal() has mean ~0 and sd ~1, and honours mean/std', () => {
    const r = createRng(4);
    const xs = Array.from({ length: 20000 }, () => r.normal());
    const mean = xs.reduce((a, b) => a + b) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(sd - 1)).toBeLessThan(0.03);
    expect(xs.every(Number.isFinite)).toBe(true);
    const s = createRng(4);
    const t = createRng(4);
    expect(s.normal(10, 2)).toBeCloseTo(10 + 2 * t.normal(), 12);
  });
});

describe('shuffle', () => {
  it('returns a permutation of the same array, deterministic for a seed', () => {
    const a = Array.from({ length: 50 }, (_, i) => i);
    const out = shuffle(a, createRng(9));
    expect(out).toBe(a); // in place
    expect([...out].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(out).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(shuffle(Array.from({ length: 50 }, (_, i) => i), createRng(9))).toEqual(out);
  });

  it('puts each element in each position about equally often', () => {
    const r = createRng(10);
    const firstCounts = [0, 0, 0, 0];
    for (let i = 0; i < 8000; i++) firstCounts[shuffle([0, 1, 2, 3], r)[0]]++;
    for (const c of firstCounts) expect(Math.abs(c - 2000)).toBeLessThan(200); // sd ~ 39
  });
});

describe('deriveSeed', () => {
  it('is a pure function of (seed, keys) returning a safe integer', () => {
    const s = deriveSeed(42, 'aug', 3, 17);
    expect(s).toBe(deriveSeed(42, 'aug', 3, 17));
    expect(Number.isSafeInteger(s) && s >= 0).toBe(true);
  });

  it('separates key order, key types and concatenations', () => {
    const seeds = [
      deriveSeed(42),
      deriveSeed(43),
      deriveSeed(42, 1, 2),
      deriveSeed(42, 2, 1),
      deriveSeed(42, 1),
      deriveSeed(42, '1'),
      deriveSeed(42, 'ab'),
      deriveSeed(42, 'a', 'b'),
      deriveSeed(42, 12),
      deriveSeed(42, 1, 2, 0),
    ];
    expect(new Set(seeds).size).toBe(seeds.length);
  });

  it('makes a per-sample stream independent of which other samples were drawn', () => {
    const sample = (epoch: number, i: number) => createRng(deriveSeed(7, 'aug', epoch, i)).float();
    const inOrder = [0, 1, 2, 3].map((i) => sample(5, i));
    const reversed = [3, 2, 1, 0].map((i) => sample(5, i)).reverse();
    expect(reversed).toEqual(inOrder);
    expect(new Set(inOrder).size).toBe(4);
  });

  it('rejects non-finite keys', () => {
    expect(() => deriveSeed(1, NaN)).toThrow(/finite number keys/);
  });
});
