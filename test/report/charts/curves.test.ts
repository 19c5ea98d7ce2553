import * as path from 'path';
import { PALETTE, drawCurves } from '../../../src/report/charts';
import { PANEL_H, PANEL_W } from '../../../src/report/charts/curves';
import { fakeResults } from '../fixtures';
import { countColour, inkStats, pngPixels, pngSize, tempDirForFile } from '../helpers';

const dir = tempDirForFile();

/** Rows [y0, y1) of a picture that hold any ink (grey < 200) in columns [x0, x1). */
function inkColumns(p: { width: number; data: Uint8ClampedArray }, y0: number, y1: number): number[] {
  const cols: number[] = [];
  for (let x = 0; x < p.width; x++) {
    for (let y = y0; y < y1; y++) {
      const i = (y * p.width + x) * 4;
      if ((p.data[i] + p.data[i + 1] + p.data[i + 2]) / 3 < 200) {
        cols.push(x);
        break;
      }
    }
  }
  return cols;
}

describe('curves.png', () => {
  test('one panel per loss in a grid, both models drawn, opaque and not blank', async () => {
    const file = path.join(dir, 'curves.png');
    await drawCurves(fakeResults({ seed: 5, epochs: 4, models: ['UNet', 'SegNet'], losses: ['dice_loss', 'BCELoss', 'tversky_loss_alpha_0.30'] }), file, 'Small');
    const { width, height } = pngSize(file);
    expect(width).toBe(Math.max(2 * PANEL_W + 3 * 10, 760)); // 3 losses -> 2 columns
    expect(height).toBeGreaterThan(2 * PANEL_H + 50); // 2 rows under the title and legend
    const p = await pngPixels(file);
    expect(inkStats(p.data)).toMatchObject({ opaque: true });
    expect(inkStats(p.data).ink).toBeGreaterThan(0.01);
    for (const colour of PALETTE.slice(0, 2)) expect(countColour(p.data, colour)).toBeGreaterThan(100);
  });

  test('a long title on a narrow figure wraps inside the picture instead of running off its edge', async () => {
    const rows = fakeResults({ seed: 2, epochs: 3, losses: ['dice_loss'] });
    const long = 'melseg sweep: 4 model(s) x 1 loss(es), synthetic:200, 64 px, width 0.125, 3 epoch(s) and a few more words';
    const short = path.join(dir, 'short.png');
    const wrapped = path.join(dir, 'long.png');
    await drawCurves(rows, short, 'T');
    await drawCurves(rows, wrapped, long);
    const a = pngSize(short);
    const b = pngSize(wrapped);
    expect(b.width).toBe(a.width);
    expect(b.height).toBeGreaterThan(a.height); // a second title line pushed the panels down
    const p = await pngPixels(wrapped);
    // No ink in the 8 px at the right edge above the panels: nothing was cut off there.
    const cols = inkColumns(p, 0, b.height - PANEL_H - 10);
    expect(Math.max(...cols)).toBeLessThan(b.width - 8);
  });

  test('a single epoch still shows its values as points', async () => {
    const file = path.join(dir, 'single.png');
    await drawCurves(fakeResults({ seed: 2, epochs: 1, models: ['UNet'], losses: ['dice_loss'] }), file, 'One');
    expect(countColour((await pngPixels(file)).data, PALETTE[0])).toBeGreaterThan(20); // dots for train, valid and IoU
  });
});
