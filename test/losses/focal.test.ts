import { randn, seeded } from '../helpers/random';
import { evaluateLoss, sigmoid } from './evaluate';

const FOCAL = 3;

describe('focal_loss is the study\'s: -sum((1-p)^2 y log p + (1-y) log(1-p))', () => {
  test('a background pixel costs plain cross-entropy, with no p^2 factor', async () => {
    // logit 0: p = 1/2, so the study's cost is log 2 (a p^2 factor would make it log(2) / 4)
    const { loss, dlogits } = await evaluateLoss(FOCAL, Float32Array.of(0), Float32Array.of(0), [1, 1, 1, 1]);
    expect(loss).toBeCloseTo(Math.LN2, 6);
    expect(dlogits[0]).toBeCloseTo(0.5, 6); // d/dx -log(1 - sigmoid(x)) = sigmoid(x)
  });

  test('a lesion pixel is down-weighted by (1-p)^2', async () => {
    const x = 1.5;
    const p = sigmoid(x);
    const { loss } = await evaluateLoss(FOCAL, Float32Array.of(x), Float32Array.of(1), [1, 1, 1, 1]);
    expect(loss).toBeCloseTo(-((1 - p) ** 2) * Math.log(p), 6);
  });

  test('sums over the batch, as the study\'s formula evaluated in float64', async () => {
    const shape = [3, 1, 4, 4];
    const logits = randn(seeded(12), 48, 3);
    const mask = new Float32Array(48).map((_, i) => (i % 5 === 0 || i > 40 ? 1 : 0));
    let want = 0;
    logits.forEach((x, i) => {
      const p = sigmoid(x);
      want -= (1 - p) ** 2 * mask[i] * Math.log(p) + (1 - mask[i]) * Math.log(1 - p);
    });
    const { loss } = await evaluateLoss(FOCAL, logits, mask, shape);
    expect(Math.abs(loss - want)).toBeLessThan(1e-5 * want);
  });

  test('stays finite where the probability rounds to 0 or 1 (logs from the logits)', async () => {
    // float32 sigmoid(+-40) is 1 and 4e-18: log(1 - p) of the probability would be -inf
    const { loss, dlogits } = await evaluateLoss(FOCAL, Float32Array.of(40, -40, 40, -40), Float32Array.of(0, 1, 1, 0), [1, 1, 2, 2]);
    expect(loss).toBeCloseTo(80, 4); // the two wrong pixels cost 40 each; the right ones ~0
    expect([...dlogits].every(Number.isFinite)).toBe(true);
    expect(dlogits[0]).toBeCloseTo(1, 6);
    expect(dlogits[1]).toBeCloseTo(-1, 6);
  });
});
