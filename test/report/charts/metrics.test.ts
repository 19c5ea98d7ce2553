import * as path from 'path';
import { PALETTE, drawMetricBars, textOn } from '../../../src/report/charts';
import { MIN_BAR_PX, METRICS_H, metricsWidth } from '../../../src/report/charts/metrics';
import type { CombinationSummary } from '../../../src/report/results';
import { countColour, pngPixels, pngSize, tempDirForFile } from '../helpers';

const dir = tempDirForFile();

function summary(model: string, criterion: string, bestMetric: number): CombinationSummary {
  return { model, criterion, run: `${model}-${criterion}`, bestMetric, bestEpoch: 3, finalTrainLoss: 0.1, finalValidLoss: 0.2, epochs: 3, runs: 1 };
}

type Pixels = { width: number; height: number; data: Uint8ClampedArray };
const near = (p: Pixels, x: number, y: number, hex: string, tol = 12) =>
  [1, 3, 5].every((k, c) => Math.abs(p.data[(y * p.width + x) * 4 + c] - parseInt(hex.slice(k, k + 2), 16)) <= tol);

/** Bounding box of the pixels of `hex` in columns [x0, x1) below the legend (the top 100 px). */
function box(p: Pixels, hex: string, x0: number, x1: number) {
  let [left, right, top, bottom] = [Infinity, -1, Infinity, -1];
  for (let y = 100; y < p.height; y++) {
    for (let x = x0; x < x1; x++) {
      if (near(p, x, y, hex)) [left, right, top, bottom] = [Math.min(left, x), Math.max(right, x), Math.min(top, y), Math.max(bottom, y)];
    }
  }
  return { left, right, top, bottom };
}

describe('metrics.png', () => {
  test('is sized by the number of bars and draws every model in its colour', async () => {
    const file = path.join(dir, 'm.png');
    await drawMetricBars([summary('SegNet', 'dice_loss', 0.7), summary('UNet', 'dice_loss', 0.8), summary('UNet', 'BCELoss', 0.75)], file, 'M');
    expect(pngSize(file)).toEqual({ width: metricsWidth(2, 2), height: METRICS_H });
    const p = await pngPixels(file);
    for (const colour of PALETTE.slice(0, 2)) expect(countColour(p.data, colour)).toBeGreaterThan(1000);
  });

  test('a zero IoU shows as a visible stub with its value above it; a tall bar carries its value inside', async () => {
    const file = path.join(dir, 'zero.png');
    // One model, two losses: BCELoss (left half) scores 0, dice_loss (right half) 0.8.
    await drawMetricBars([summary('UNet', 'BCELoss', 0), summary('UNet', 'dice_loss', 0.8)], file, 'Zero');
    const p = await pngPixels(file);
    const colour = PALETTE[0];
    const stub = box(p, colour, 0, p.width / 2);
    // The axis line covers the stub's lowest pixel row, antialiasing its top edge.
    expect(stub.bottom - stub.top + 1).toBeGreaterThanOrEqual(MIN_BAR_PX - 2);
    expect(stub.right - stub.left).toBeGreaterThan(10);
    // "0.000" above the stub: dark text pixels in the 40 px above it, within its columns.
    let dark = 0;
    for (let y = stub.top - 40; y < stub.top; y++) for (let x = stub.left; x <= stub.right; x++) if (near(p, x, y, '#222222', 60)) dark++;
    expect(dark).toBeGreaterThan(15);
    // The 0.8 bar: its label is drawn inside in white (the bar is otherwise one flat colour).
    const tall = box(p, colour, p.width / 2, p.width);
    expect(tall.bottom - tall.top).toBeGreaterThan(100);
    let white = 0;
    for (let y = tall.top; y < tall.top + 40; y++) for (let x = tall.left; x <= tall.right; x++) if (near(p, x, y, '#ffffff', 40)) white++;
    expect(white).toBeGreaterThan(15);
  });

  test('labels contrast with their bar: white on dark blue, dark on orange and pink', () => {
    expect(textOn('#0072B2')).toBe('#ffffff');
    expect(textOn('#000000')).toBe('#ffffff');
    expect(textOn('#D55E00')).not.toBe('#ffffff');
    expect(textOn('#CC79A7')).not.toBe('#ffffff');
  });
});
