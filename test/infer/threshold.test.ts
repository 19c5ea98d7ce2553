import { THRESHOLD_GRID, ThresholdSearch } from '../../src/infer/threshold';

describe('THRESHOLD_GRID', () => {
  it('is 0.30..0.70 in steps of 0.05, exact decimals', () => {
    expect(THRESHOLD_GRID).toEqual([0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7]);
  });
});

describe('ThresholdSearch', () => {
  const post = { largestComponent: false, fillHoles: false };

  it('chooses the grid threshold with the best mean IoU over the images it saw', () => {
    // 4 pixels, lesion = the first two. Probabilities 0.9 / 0.57 on lesion, 0.52 / 0.2 on background:
    // T <= 0.5 adds a false positive (IoU 2/3), T = 0.55 is perfect, T >= 0.6 misses one (IoU 1/2).
    const s = new ThresholdSearch(post);
    s.add(Float32Array.of(0.9, 0.57, 0.52, 0.2), Uint8Array.of(1, 1, 0, 0), 2, 2);
    const c = s.choose();
    expect(c.threshold).toBe(0.55);
    expect(c.table.map((r) => r.iou)).toEqual([2 / 3, 2 / 3, 2 / 3, 2 / 3, 2 / 3, 1, 1 / 2, 1 / 2, 1 / 2]);
    expect(c.images).toBe(1);
  });

  it('averages over images and breaks ties towards 0.5', () => {
    const s = new ThresholdSearch(post);
    // every threshold in the grid separates these perfectly -> all tie at IoU 1
    s.add(Float32Array.of(0.9, 0.1), Uint8Array.of(1, 0), 2, 1);
    s.add(Float32Array.of(0.95, 0.05), Uint8Array.of(1, 0), 2, 1);
    const c = s.choose();
    expect(c.table.every((r) => r.iou === 1)).toBe(true);
    expect(c.threshold).toBe(0.5);
  });

  it('scores candidates with the post-processing the final masks get', () => {
    // a speck at 0.45 outside the lesion: kept at T = 0.4 unless only the largest region is kept
    const prob = Float32Array.of(0.9, 0.9, 0.1, 0.45, 0.1, 0.1);
    const truth = Uint8Array.of(1, 1, 0, 0, 0, 0);
    const raw = new ThresholdSearch(post);
    raw.add(prob, truth, 6, 1);
    const lc = new ThresholdSearch({ largestComponent: true, fillHoles: false });
    lc.add(prob, truth, 6, 1);
    expect(raw.choose().table[2]).toEqual({ threshold: 0.4, iou: 2 / 3 });
    expect(lc.choose().table[2]).toEqual({ threshold: 0.4, iou: 1 });
  });

  it('with no images, says to give a number', () => {
    expect(() => new ThresholdSearch(post).choose()).toThrow(/has no images .* --threshold 0\.5/);
  });
});
