/** Comparing tensors in tests. */

/**
 * ||a - b|| / max(||b||, floor) (L2 norms). The floor stands in for ||b|| where b is (nearly) zero,
 * e.g. conv-bias gradients that vanish in theory under BatchNorm.
 */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-15): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), floor);
}
