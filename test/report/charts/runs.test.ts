import * as path from 'path';
import { PALETTE } from '../../../src/report/charts';
import { RUNS_H, RUNS_W, drawRunCurves } from '../../../src/report/charts/runs';
import { fakeResults } from '../fixtures';
import { countColour, inkStats, pngPixels, pngSize, tempDirForFile } from '../helpers';

const dir = tempDirForFile();

describe('runs.png', () => {
  test('one colour per group of runs, at the documented size', async () => {
    const one = (seed: number, run: string) => fakeResults({ seed, epochs: 6, models: ['UNet'], losses: ['dice_loss'] }).map((r) => ({ ...r, run }));
    const file = path.join(dir, 'runs.png');
    await drawRunCurves([{ label: 'melseg', rows: [...one(1, 's0'), ...one(2, 's1')] }, { label: 'torch', rows: one(3, 's0') }], file, 'Runs');
    expect(pngSize(file)).toEqual({ width: RUNS_W, height: RUNS_H });
    const p = await pngPixels(file);
    expect(inkStats(p.data).opaque).toBe(true);
    for (const colour of PALETTE.slice(0, 2)) expect(countColour(p.data, colour)).toBeGreaterThan(100);
    expect(countColour(p.data, PALETTE[2])).toBe(0);
  });
});
