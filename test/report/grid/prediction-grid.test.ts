import * as path from 'path';
import { GRID_COLUMNS, GridItem, gridLayout, overlayImage, predictionGrid } from '../../../src/report/grid';
import { lesionItem, noisyItem } from '../fixtures';
import { pngPixels, pngSize, tempDirForFile } from '../helpers';

const dir = tempDirForFile();

/** Decoded by canvas (libpng), an independent decoder. */
const readRgba = pngPixels;
const item = noisyItem;

describe('predictionGrid', () => {
  test('bare grid is 4S + 5g wide and nS + (n + 1)g high', async () => {
    const S = 16;
    const file = path.join(dir, 'bare.png');
    await predictionGrid([item(S, 1, 'a'), item(S, 2, 'b')], S, file, { header: false, captions: false, legend: false, gutter: 2 });
    expect(pngSize(file)).toEqual({ width: 4 * 16 + 5 * 2, height: 2 * 16 + 3 * 2 });
  });

  test('tiles hold the image, p*255, mask*255 and the overlay, with white gutters', async () => {
    const S = 24;
    const items = [item(S, 3, 'ISIC_1'), item(S, 4, 'ISIC_2'), item(S, 5, 'ISIC_3')];
    const file = path.join(dir, 'grid.png');
    const L = await predictionGrid(items, S, file);
    expect(pngSize(file)).toEqual({ width: L.width, height: L.height });
    expect(L.headerH).toBeGreaterThan(0);
    expect(L.captionH).toBeGreaterThan(0);
    const { width, data } = await readRgba(file);
    const px = (x: number, y: number) => [0, 1, 2].map((c) => data[(y * width + x) * 4 + c]);
    items.forEach((it, r) => {
      const ov = overlayImage(it.image, it.prob, S, { mask: it.mask });
      const tiles = [0, 1, 2, 3].map((c) => L.tile(r, c));
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) {
          const i = y * S + x;
          expect(px(tiles[0].x + x, tiles[0].y + y)).toEqual([...it.image.subarray(i * 3, i * 3 + 3)]);
          const p = Math.round(Math.min(1, it.prob[i]) * 255);
          expect(px(tiles[1].x + x, tiles[1].y + y)).toEqual([p, p, p]);
          const m = it.mask[i] * 255;
          expect(px(tiles[2].x + x, tiles[2].y + y)).toEqual([m, m, m]);
          expect(px(tiles[3].x + x, tiles[3].y + y)).toEqual([...ov.subarray(i * 3, i * 3 + 3)]);
        }
      }
      // The gutter left of the first tile and between tiles 2 and 3 is white.
      expect(px(tiles[0].x - 1, tiles[0].y + 5)).toEqual([255, 255, 255]);
      expect(px(tiles[2].x - 1, tiles[2].y + 5)).toEqual([255, 255, 255]);
    });
    // The header row has some text ink above the first tile row.
    let ink = 0;
    for (let y = L.gutter; y < L.gutter + L.headerH; y++) for (let x = 0; x < width; x++) if (px(x, y)[0] < 128) ink++;
    expect(ink).toBeGreaterThan(10);
  });

  test('rejects a gutter outside 2..4 and arrays of the wrong size, naming the item', async () => {
    expect(() => gridLayout(1, 8, { gutter: 6 })).toThrow(/expected gutter 2..4 px; found 6/);
    const bad = { ...item(8, 1, 'ISIC_bad'), mask: new Uint8Array(10) };
    await expect(predictionGrid([bad], 8, path.join(dir, 'bad.png'))).rejects.toThrow(/item 0 \(ISIC_bad\) mask: expected 64 values .*found 10/);
  });
});


describe('column titles', () => {
  test('all four titles are drawn at one size, even where "ground truth" must shrink to fit a small tile', async () => {
    const S = 64;
    const file = path.join(dir, 'titles.png');
    const L = await predictionGrid([lesionItem(S, 1, 'a')], S, file);
    const { width, data } = await readRgba(file);
    // Rows with ink in each title's column: every title has an ascender and a descender, so equal sizes give equal extents.
    const extents = GRID_COLUMNS.map((_, col) => {
      const { x } = L.tile(0, col);
      const rows: number[] = [];
      for (let y = L.gutter; y < L.gutter + L.headerH; y++) {
        for (let dx = 0; dx < S; dx++) if (data[(y * width + x + dx) * 4] < 128) rows.push(y);
      }
      return [Math.min(...rows), Math.max(...rows)];
    });
    for (const e of extents) expect(e).toEqual(extents[0]);
  });
});
