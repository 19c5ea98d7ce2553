import { GT_COLOUR, PRED_COLOUR, maskContour, overlayImage, probToMask } from '../../../src/report/grid';

describe('overlayImage', () => {
  test('ground-truth contour in GT colour, predicted area tinted, background untouched', () => {
    const S = 32;
    const image = new Uint8Array(S * S * 3).fill(100);
    const prob = new Float32Array(S * S);
    const mask = new Uint8Array(S * S);
    for (let y = 8; y < 24; y++) for (let x = 8; x < 24; x++) mask[y * S + x] = 1;
    for (let y = 10; y < 20; y++) for (let x = 10; x < 20; x++) prob[y * S + x] = 0.9;
    const ov = overlayImage(image, prob, S, { mask, thickness: 1 });
    const at = (x: number, y: number) => [...ov.subarray((y * S + x) * 3, (y * S + x) * 3 + 3)];
    expect(at(8, 15)).toEqual([...GT_COLOUR]); // GT edge
    expect(at(10, 15)).toEqual([...PRED_COLOUR]); // prediction edge
    expect(at(15, 15)).toEqual(PRED_COLOUR.map((c) => Math.round(0.65 * 100 + 0.35 * c))); // tinted interior
    expect(at(2, 2)).toEqual([100, 100, 100]);
  });

  test('a 16 x 16 square has a 1 px contour of 60 pixels; the threshold is inclusive', () => {
    const S = 32;
    const mask = new Uint8Array(S * S);
    for (let y = 8; y < 24; y++) for (let x = 8; x < 24; x++) mask[y * S + x] = 1;
    expect(maskContour(mask, S, S, 1).reduce((a, b) => a + b, 0)).toBe(4 * 15);
    expect([...probToMask([0.49, 0.5, 0.51])]).toEqual([0, 1, 1]);
  });

  test('wrong array sizes name the array and the expected size', () => {
    expect(() => overlayImage(new Uint8Array(10), new Float32Array(4), 2)).toThrow(/overlayImage image: expected 12 values \(2x2x3 RGB\); found 10/);
  });
});
