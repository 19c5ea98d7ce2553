/**
 * mulberry32: a tiny seeded 32-bit generator, uniform in [0, 1). Used where a stream only needs to be
 * reproducible, not serialisable (initial weights, fake results, tests); see rng.ts for the
 * generator whose state is saved in checkpoints.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
