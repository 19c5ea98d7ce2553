import { imageMetrics, type Confusion } from '../../src/metrics';
import { maskConfusion, meanStd, pooledMetrics, scoreMask } from '../../src/infer/scores';

const scoreOf = (c: Confusion) => imageMetrics(c);

describe('scoreMask', () => {
  it('counts the confusion and derives the five metrics', () => {
    const pred = Uint8Array.of(1, 1, 0, 0, 1, 0);
    const truth = Uint8Array.of(1, 0, 1, 0, 1, 0);
    const s = scoreMask(pred, truth);
    expect(s).toMatchObject({ tp: 2, fp: 1, fn: 1, tn: 2 });
    expect(s.iou).toBeCloseTo(2 / 4, 12);
    expect(s.dice).toBeCloseTo(4 / 6, 12);
    expect(s.accuracy).toBeCloseTo(4 / 6, 12);
    expect(s.sensitivity).toBeCloseTo(2 / 3, 12);
    expect(s.specificity).toBeCloseTo(2 / 3, 12);
  });

  it('refuses masks of different sizes', () => {
    expect(() => maskConfusion(new Uint8Array(4), new Uint8Array(6))).toThrow(/prediction has 4 pixels but the ground truth 6/);
  });
});

describe('meanStd', () => {
  it('gives the mean and the population standard deviation of each metric over images', () => {
    const rows = [0.2, 0.4, 0.9].map((v) => ({ iou: v, dice: 1 - v, accuracy: 0.5, sensitivity: v, specificity: 1 }));
    const { mean, std } = meanStd(rows);
    const m = (0.2 + 0.4 + 0.9) / 3;
    const sd = Math.sqrt(((0.2 - m) ** 2 + (0.4 - m) ** 2 + (0.9 - m) ** 2) / 3);
    expect(mean.iou).toBeCloseTo(m, 12);
    expect(std.iou).toBeCloseTo(sd, 12);
    expect(std.dice).toBeCloseTo(sd, 12);
    expect(std.accuracy).toBe(0);
    expect(mean.specificity).toBe(1);
  });
});

describe('pooledMetrics', () => {
  it('scores one confusion matrix summed over images, so a large lesion outweighs a small missed one', () => {
    // image 1: a large lesion found well (IoU 90/100); image 2: a small lesion missed (IoU 0)
    const big = { tp: 90, fp: 5, fn: 5, tn: 900 };
    const missed = { tp: 0, fp: 0, fn: 10, tn: 990 };
    const p = pooledMetrics([big, missed]);
    expect(p.iou).toBeCloseTo(90 / 110, 12);
    expect(p.dice).toBeCloseTo(180 / 200, 12);
    expect(p.accuracy).toBeCloseTo(1980 / 2000, 12);
    // the per-image mean of the same two images is (0.9 + 0) / 2
    expect(meanStd([scoreOf(big), scoreOf(missed)]).mean.iou).toBeCloseTo(0.45, 12);
  });
});
