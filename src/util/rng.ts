/**
 * Seeded, serialisable randomness for reproducible training (shuffles, augmentation, init).
 *
 * Generator: xoroshiro128+ from pure-rand. Its 128-bit state is four int32 words, so
 * `rng.state()` is a plain JSON array and `Rng.fromState()` resumes the stream exactly where it
 * stopped (checkpoint -> resume gives the same batches as an uninterrupted run).
 *
 * Seeding: pure-rand's own `xoroshiro128plus(seed)` puts the seed almost verbatim into the state
 * (its first output is ~seed), so neighbouring seeds start with correlated draws. We instead expand
 * the seed with splitmix64 (Vigna's recommended seeder for xoroshiro) into the two 64-bit state
 * words, and load them with `xoroshiro128plus.fromState`.
 *
 * Streams: `deriveSeed(seed, 'aug', epoch, index)` hashes a key path to a new seed, so e.g. the
 * augmentation of sample i in epoch e is a pure function of (seed, e, i), independent of worker
 * count, batch order, or how many draws other samples made.
 *
 * Each draw of pure-rand's xoroshiro128+ yields the LOW 32 bits of the 64-bit output, whose lowest
 * bits are the weakest; float() and int() therefore build on the high bits of two draws.
 */
import { xoroshiro128plus, type RandomGenerator } from 'pure-rand';

const MASK64 = (1n << 64n) - 1n;
const TWO53 = 9007199254740992;

/** splitmix64 step: returns [output, nextState]; both are u64 BigInts. */
function splitmix64(state: bigint): [bigint, bigint] {
  const s = (state + 0x9e3779b97f4a7c15n) & MASK64;
  let z = s;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return [z ^ (z >> 31n), s];
}

function checkSeed(seed: number, what: string): void {
  if (!Number.isSafeInteger(seed))
    throw new Error(`${what}: expected the seed to be an integer in ±2^53, found ${seed}; pass an integer such as 42 (or deriveSeed(...) output)`);
}

/** u64 (as BigInt) -> [high int32, low int32]. */
function split64(x: bigint): [number, number] {
  return [Number((x >> 32n) & 0xffffffffn) | 0, Number(x & 0xffffffffn) | 0];
}

export class Rng {
  private constructor(private readonly g: RandomGenerator) {}

  /** A generator whose stream is a pure function of `seed` (any safe integer). */
  static fromSeed(seed: number): Rng {
    checkSeed(seed, 'createRng');
    let st = BigInt.asUintN(64, BigInt(seed));
    let s0: bigint;
    let s1: bigint;
    [s0, st] = splitmix64(st);
    [s1, st] = splitmix64(st);
    if (s0 === 0n && s1 === 0n) s1 = 1n; // the all-zero state is xoroshiro's one fixed point
    const [s01, s00] = split64(s0);
    const [s11, s10] = split64(s1);
    // pure-rand's state order is [s0 high, s0 low, s1 high, s1 low].
    return new Rng(xoroshiro128plus.fromState([s01, s00, s11, s10]));
  }

  /** Resume from `rng.state()` (e.g. read back from a checkpoint's trainer state). */
  static fromState(state: readonly number[]): Rng {
    if (!Array.isArray(state) || state.length !== 4 || !state.every((w) => Number.isInteger(w) && w >= -0x80000000 && w <= 0x7fffffff))
      throw new Error(`Rng.fromState: expected the 4 int32 words returned by rng.state(), found ${JSON.stringify(state)}; pass the array saved from rng.state() unchanged`);
    if (state.every((w) => w === 0))
      throw new Error('Rng.fromState: the all-zero state is invalid for xoroshiro128+ (it only ever yields 0); the saved state is corrupted: re-create the generator with createRng(seed)');
    return new Rng(xoroshiro128plus.fromState(state));
  }

  /** The full generator state as 4 int32 words (JSON-serialisable). */
  state(): number[] {
    return [...this.g.getState!()];
  }

  /** An independent copy at the same position. */
  clone(): Rng {
    return new Rng(this.g.clone());
  }

  /** Next raw draw, an unsigned 32-bit integer. */
  uint32(): number {
    return this.g.unsafeNext() >>> 0;
  }

  /** Uniform 53-bit integer in [0, 2^53): high 27 bits of one draw, high 26 of the next. */
  private u53(): number {
    const a = this.g.unsafeNext() >>> 5; // 27 bits
    const b = this.g.unsafeNext() >>> 6; // 26 bits
    return a * 67108864 + b; // a * 2^26 + b
  }

  /** Uniform float in [0, 1) with 53 random bits: u53 / 2^53. */
  float(): number {
    return this.u53() / TWO53;
  }

  /**
   * Uniform integer in [0, n), exactly unbiased: split [0, 2^53) into n buckets of
   * q = floor(2^53 / n) values, return the bucket index of a u53 draw, reject draws in the
   * remainder (probability < n / 2^53). Uses the high bits, unlike `u % n`.
   */
  int(n: number): number {
    if (!Number.isSafeInteger(n) || n < 1)
      throw new Error(`rng.int(n): expected n to be a positive integer (draws from [0, n)), found ${n}`);
    if (n === 1) return 0;
    const q = Math.floor(TWO53 / n);
    const limit = q * n; // exact: <= 2^53
    for (;;) {
      const u = this.u53();
      if (u >= limit) continue;
      let r = Math.floor(u / q);
      if (r * q > u) r -= 1; // guard against the division rounding up
      return r;
    }
  }

  /**
   * Standard normal N(mean, std^2) by Box-Muller: z = sqrt(-2 ln u1) * cos(2 pi u2), u1 in (0, 1].
   * One value per call (the sine twin is discarded so the state stays 4 words).
   */
  normal(mean = 0, std = 1): number {
    const u1 = 1 - this.float(); // (0, 1]: avoids ln(0)
    const u2 = this.float();
    return mean + std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
}

/** A generator seeded with `seed` (any safe integer); see the module comment. */
export function createRng(seed: number): Rng {
  return Rng.fromSeed(seed);
}

/** Fisher-Yates shuffle, IN PLACE; returns the same array for chaining. */
export function shuffle<T>(array: T[], rng: Rng): T[] {
  for (let i = array.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = array[i];
    array[i] = array[j];
    array[j] = t;
  }
  return array;
}

/**
 * Hash (seed, ...keys) to a new seed in [0, 2^53), e.g. `deriveSeed(runSeed, 'aug', epoch, i)`.
 * Keys are encoded unambiguously (type tag + length + text: ("ab") differs from ("a", "b") and 1
 * from "1"), hashed with 64-bit FNV-1a over UTF-8, then avalanched with the splitmix64 finaliser;
 * the top 53 bits are returned so the result is an exact JS integer usable as a seed.
 */
export function deriveSeed(seed: number, ...keys: (number | string)[]): number {
  checkSeed(seed, 'deriveSeed');
  const parts = [`n${String(seed)}`];
  for (const k of keys) {
    if (typeof k === 'number') {
      if (!Number.isFinite(k)) throw new Error(`deriveSeed: expected finite number keys, found ${k}; use an integer such as the epoch or sample index`);
      parts.push(`n${String(k)}`);
    } else if (typeof k === 'string') {
      parts.push(`s${k}`);
    } else {
      throw new Error(`deriveSeed: expected keys to be numbers or strings, found ${typeof k}`);
    }
  }
  const bytes = Buffer.from(parts.map((p) => `${p.length}:${p}`).join(''), 'utf8');
  let h = 0xcbf29ce484222325n; // FNV-1a 64 offset basis
  for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & MASK64; // FNV prime
  const [out] = splitmix64(h);
  return Number(out >> 11n);
}
