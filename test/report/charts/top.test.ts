import * as path from 'path';
import { PALETTE, drawTopCurves, topCombinations } from '../../../src/report/charts';
import { TOP_H, TOP_W } from '../../../src/report/charts/top';
import { bestPerCombination } from '../../../src/report/results';
import { fakeResults } from '../fixtures';
import { countColour, inkStats, pngPixels, pngSize, row, tempDirForFile } from '../helpers';

const dir = tempDirForFile();

describe('curves_top.png', () => {
  test('the n best combinations by best IoU, best first; combinations without any IoU left out', () => {
    const rows = [
      row({ criterion: 'BCELoss', run: 'a', metric: 0.6 }),
      row({ criterion: 'dice_loss', run: 'b', metric: 0.9 }),
      row({ criterion: 'bce_loss', run: 'c', metric: NaN }),
      row({ criterion: 'focal_loss', run: 'd', metric: 0.7 }),
    ];
    expect(topCombinations(bestPerCombination(rows), 2).map((b) => b.criterion)).toEqual(['dice_loss', 'focal_loss']);
    expect(topCombinations(bestPerCombination(rows), 10)).toHaveLength(3);
  });

  test('draws one line per chosen combination at the documented size', async () => {
    const rows = fakeResults({ seed: 4, epochs: 5, models: ['UNet', 'SegNet'], losses: ['dice_loss', 'BCELoss'] });
    const file = path.join(dir, 'top.png');
    const chosen = await drawTopCurves(rows, bestPerCombination(rows), file, 3, 'Top');
    expect(chosen).toHaveLength(3);
    expect(pngSize(file)).toEqual({ width: TOP_W, height: TOP_H });
    const p = await pngPixels(file);
    expect(inkStats(p.data).opaque).toBe(true);
    for (const colour of PALETTE.slice(0, 3)) expect(countColour(p.data, colour)).toBeGreaterThan(100);
  });

  test('a single epoch still shows as a ring', async () => {
    const rows = fakeResults({ seed: 2, epochs: 1, models: ['UNet'], losses: ['dice_loss'] });
    const file = path.join(dir, 'single.png');
    await drawTopCurves(rows, bestPerCombination(rows), file, 5, 'One');
    expect(countColour((await pngPixels(file)).data, PALETTE[0])).toBeGreaterThan(20);
  });
});
