import * as fs from 'fs';
import * as path from 'path';
import { THUMB_WIDTH, makeThumbnail, predictionGrid } from '../../../src/report';
import { lesionItem } from '../fixtures';
import { inkStats, pngPixels, tempDirForFile } from '../helpers';

const dir = tempDirForFile();

describe('makeThumbnail', () => {
  test('scales a grid to THUMB_WIDTH keeping its aspect, as a JPEG far smaller than the grid', async () => {
    const grid = path.join(dir, 'grid.png');
    const L = await predictionGrid([lesionItem(128, 1, 'a'), lesionItem(128, 2, 'b'), lesionItem(128, 3, 'c')], 128, grid);
    const out = path.join(dir, 'sub', 'grid.thumb.jpg');
    const size = await makeThumbnail(grid, out);
    expect(size).toEqual({ width: THUMB_WIDTH, height: Math.round((L.height * THUMB_WIDTH) / L.width) });
    const jpeg = fs.readFileSync(out);
    expect([...jpeg.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    expect(jpeg.length).toBeLessThan(fs.statSync(grid).size / 3);
    // Decoded, it is the grid's picture (not blank): the same ink share within a few percent.
    const [a, b] = [await pngPixels(grid), await pngPixels(out)];
    expect(b.width).toBe(THUMB_WIDTH);
    expect(Math.abs(inkStats(a.data).ink - inkStats(b.data).ink)).toBeLessThan(0.05);
  });

  test('a grid narrower than THUMB_WIDTH is not enlarged; an unreadable grid is named', async () => {
    const grid = path.join(dir, 'small.png');
    const L = await predictionGrid([lesionItem(32, 1, 'a')], 32, grid);
    expect(await makeThumbnail(grid, path.join(dir, 'small.jpg'))).toEqual({ width: L.width, height: L.height });
    fs.writeFileSync(path.join(dir, 'bad.png'), 'not a png');
    await expect(makeThumbnail(path.join(dir, 'bad.png'), path.join(dir, 'bad.jpg'))).rejects.toThrow(/prediction grid .*bad\.png cannot be read/);
  });
});
