import { mixWeights, summariseEvaluation, summariseIou } from '../../src/infer/summary';

describe('summariseIou', () => {
  it('gives the median, the thresholded Jaccard and the failures beside the mean', () => {
    const s = summariseIou([0.9, 0.7, 0.6, 0.2, 0.0]);
    expect(s.n).toBe(5);
    expect(s.mean).toBeCloseTo(0.48, 12);
    expect(s.median).toBe(0.6);
    // 0.6, 0.2 and 0.0 are below 0.65 and count as 0
    expect(s.thresholdedJaccard).toBeCloseTo((0.9 + 0.7) / 5, 12);
    expect(s.countBelow03).toBe(2);
    expect(s.below03).toBeCloseTo(0.4, 12);
    expect(s.countBelow065).toBe(3);
    expect(s.below065).toBeCloseTo(0.6, 12);
  });

  it('takes the mean of the middle two for an even count', () => {
    expect(summariseIou([0.1, 0.4, 0.5, 0.9]).median).toBeCloseTo(0.45, 12);
  });

  it('weights images, and weight 0 drops an image from every figure', () => {
    const s = summariseIou([0.9, 0.1, 0.5], [3, 1, 0]);
    expect(s.mean).toBeCloseTo((3 * 0.9 + 0.1) / 4, 12);
    expect(s.below03).toBeCloseTo(0.25, 12);
    expect(s.median).toBe(0.9);
  });

  it('is NaN for no images, not an error', () => {
    expect(summariseIou([]).mean).toBeNaN();
  });
});

describe('reweighting to a label mix', () => {
  it('gives each label its share of the target mix, whatever its share of the scored images', () => {
    // 3 nevi, 1 keratosis scored; target half and half
    const w = mixWeights(['n', 'n', 'n', 'k'], { n: 1, k: 1 });
    expect(w.weights).toEqual([1 / 6, 1 / 6, 1 / 6, 0.5]);
    expect(w.shares).toEqual({ n: 0.5, k: 0.5 });
    const images = [0.9, 0.9, 0.9, 0.3].map((iou, i) => ({ id: `i${i}`, iou }));
    const labels = new Map([['i0', 'n'], ['i1', 'n'], ['i2', 'n'], ['i3', 'k']]);
    const s = summariseEvaluation(images, { labels, mix: { name: 'half', counts: { n: 1, k: 1 } } });
    expect(s.all.mean).toBeCloseTo(0.75, 12);
    expect(s.reweighted!.summary.mean).toBeCloseTo(0.6, 12);
    expect(s.groups!.k.mean).toBeCloseTo(0.3, 12);
    expect(Object.keys(s.groups!)).toEqual(['k', 'n']);
  });

  it('drops labels of the mix with no scored image and says so; other labels weigh 0', () => {
    const w = mixWeights(['n', 'x'], { n: 2, m: 1 });
    expect(w).toEqual({ weights: [1, 0], shares: { n: 1 }, missing: ['m'], ignored: 1 });
  });

  it('puts images without a label in their own group', () => {
    const s = summariseEvaluation([{ id: 'a', iou: 1 }, { id: 'b', iou: 0 }], { labels: new Map([['a', 'n']]) });
    expect(Object.keys(s.groups!)).toEqual(['n', 'unlabelled']);
  });

  it('refuses a mix without labels, and a mix none of whose labels was scored', () => {
    expect(() => summariseEvaluation([{ id: 'a', iou: 1 }], { mix: { name: 'm', counts: { n: 1 } } })).toThrow(/needs the images' labels: pass --labels/);
    expect(() => summariseEvaluation([{ id: 'a', iou: 1 }], { labels: new Map([['a', 'z']]), mix: { name: 'm', counts: { n: 1 } } })).toThrow(
      "--weights-from m: none of its labels (n) is the label of a scored image (found z)",
    );
  });
});
