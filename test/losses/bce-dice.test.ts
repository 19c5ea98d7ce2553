import { randn, seeded } from '../helpers/random';
import { evaluateLoss, sigmoid } from './evaluate';

const BCE_DICE = 15;

/** float64: mean BCE on the logits + 1 - mean over images of (2 sum py + 1) / (sum p + sum y + 1). */
function expected(logits: Float32Array, mask: Float32Array, n: number): number {
  const per = logits.length / n;
  let bce = 0;
  let dice = 0;
  for (let b = 0; b < n; b++) {
    let [py, p, y] = [0, 0, 0];
    for (let i = b * per; i < (b + 1) * per; i++) {
      const x = logits[i];
      bce += x - x * mask[i] + Math.log1p(Math.exp(-x));
      py += sigmoid(x) * mask[i];
      p += sigmoid(x);
      y += mask[i];
    }
    dice += (2 * py + 1) / (p + y + 1);
  }
  return bce / logits.length + 1 - dice / n;
}

describe('bce_dice_loss: bce_loss + per-image soft Dice (smoothing 1)', () => {
  test('matches its definition in float64', async () => {
    const logits = randn(seeded(21), 3 * 36, 3);
    const mask = new Float32Array(3 * 36).map((_, i) => (i < 36 ? (i % 6 > 3 ? 1 : 0) : i < 72 ? (i === 50 ? 1 : 0) : 0));
    const { loss } = await evaluateLoss(BCE_DICE, logits, mask, [3, 1, 6, 6]);
    expect(Math.abs(loss - expected(logits, mask, 3))).toBeLessThan(1e-5);
  });

  test('Dice is per image: a missed small lesion costs as much as a missed large one', async () => {
    // image 0: 1-pixel lesion, image 1: 8-pixel lesion, both predicted as background (logit -20)
    const mask = new Float32Array(2 * 9 * 9);
    mask[40] = 1;
    for (let i = 0; i < 8; i++) mask[81 + i] = 1;
    const logits = new Float32Array(mask.length).fill(-20);
    const { loss } = await evaluateLoss(BCE_DICE, logits, mask, [2, 1, 9, 9]);
    const bce = (9 * 20) / mask.length; // the 9 lesion pixels cost ~20 each, the rest ~2e-9
    // per image: Dice = 1/2 and 1/9; a Dice over the batch would be 1/10
    expect(loss - bce).toBeCloseTo(1 - (1 / 2 + 1 / 9) / 2, 5);
  });

  test('an empty mask predicted empty costs nothing; predicted full, almost the whole Dice term', async () => {
    const mask = new Float32Array(16);
    const empty = await evaluateLoss(BCE_DICE, new Float32Array(16).fill(-30), mask, [1, 1, 4, 4]);
    expect(empty.loss).toBeLessThan(1e-6);
    const full = await evaluateLoss(BCE_DICE, new Float32Array(16).fill(30), mask, [1, 1, 4, 4]);
    expect(full.loss).toBeCloseTo(30 + 1 - 1 / 17, 4);
    expect([...full.dlogits].every(Number.isFinite)).toBe(true);
  });
});
