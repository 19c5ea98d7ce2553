/**
 * Seeded, serialisable random numbers for the data pipeline.
 *
 * Every random stream is derived from a tuple of integers (seed, stream tag, epoch, sample index, ...)
 * by hashing the tuple into a full 128-bit xoroshiro128+ state. Streams are therefore independent of
 * the order in which they are consumed: sample 17 of epoch 3 gets the same augmentation whether it is
 * drawn first, last, in a worker thread or in the main thread, and a resumed run reproduces it.
 * Hashing into all 128 bits (rather than seeding from one 32-bit number) keeps distinct tuples from
 * sharing a stream: with 32-bit seeds, 2000 samples x 100 epochs would already collide a few times.
 */
import { xoroshiro128plus, type RandomGenerator } from 'pure-rand';

/** Stream tags, so that e.g. the shuffle of epoch 3 and the augmentation of sample 3 never coincide. */
export const STREAM = { shuffle: 1, augment: 2, synthetic: 3, split: 4, fold: 5 } as const;

/** murmur3's 32-bit finaliser: a bijection on uint32 with full avalanche. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Splits a safe integer (or any finite number, truncated) into [low 32 bits, high 21 bits + sign]. */
function words(x: number): [number, number] {
  if (!Number.isFinite(x)) throw new Error(`rng: seed parts must be finite numbers, got ${x}`);
  const t = Math.trunc(x);
  const lo = t >>> 0;
  const hi = Math.floor(t / 4294967296) | 0;
  return [lo, hi >>> 0];
}

/** Hashes the integer tuple into four 32-bit words, never all zero (the one invalid xoroshiro state). */
export function hashState(parts: readonly number[]): [number, number, number, number] {
  const out: [number, number, number, number] = [0, 0, 0, 0];
  for (let w = 0; w < 4; w++) {
    let h = fmix32(Math.imul(w + 1, 0x9e3779b9) ^ parts.length);
    for (const p of parts) {
      const [lo, hi] = words(p);
      h = fmix32(h ^ fmix32(lo + 0x7f4a7c15));
      h = fmix32(h ^ fmix32(hi + 0x165667b1));
    }
    out[w] = h | 0;
  }
  if ((out[0] | out[1] | out[2] | out[3]) === 0) out[3] = 1;
  return out;
}

export class Rng {
  private gen: RandomGenerator;

  private constructor(gen: RandomGenerator) {
    this.gen = gen;
  }

  /** The stream for an integer tuple, e.g. `Rng.derive(seed, STREAM.augment, epoch, index)`. */
  static derive(...parts: number[]): Rng {
    return new Rng(xoroshiro128plus.fromState(hashState(parts)));
  }

  /** Restores a stream saved with `getState()` (for checkpoint/resume). */
  static fromState(state: readonly number[]): Rng {
    return new Rng(xoroshiro128plus.fromState(state));
  }

  getState(): number[] {
    const g = this.gen.getState;
    if (!g) throw new Error('rng: generator has no getState');
    return [...g.call(this.gen)];
  }

  uint32(): number {
    return this.gen.unsafeNext() >>> 0;
  }

  /** Uniform in [0, 1) with 53 random bits: (a * 2^21 + b) / 2^53 with a, b the top 32 and 21 bits. */
  float(): number {
    const a = this.uint32();
    const b = this.uint32() >>> 11;
    return (a * 2097152 + b) / 9007199254740992;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** Uniform integer in [lo, hiExclusive). */
  int(lo: number, hiExclusive: number): number {
    if (!(hiExclusive > lo)) throw new Error(`rng.int: empty range [${lo}, ${hiExclusive})`);
    return lo + Math.floor(this.float() * (hiExclusive - lo));
  }

  /** True with probability p (p <= 0 never, p >= 1 always; both still consume one draw). */
  bernoulli(p: number): boolean {
    return this.float() < p;
  }

  /** Standard normal via Box-Muller (one value per call; the second is discarded to stay stateless). */
  normal(): number {
    const u = 1 - this.float(); // (0, 1]: log(u) finite
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    this.shuffleInPlace(p);
    return p;
  }

  shuffleInPlace<T>(a: T[]): void {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(0, i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
  }
}
