import * as fs from 'fs';
import * as path from 'path';
import { writeMaskPng, writeOverlayPng } from '../../src/infer/pictures';
import { PRED_COLOUR } from '../../src/report/grid';
import { pngPixels, tempDirForFile } from '../report/helpers';

const dir = tempDirForFile();

describe('the files predict and evaluate --save-masks write', () => {
  test('writeMaskPng writes the mask as 8-bit grey 0/255 at its size', async () => {
    const w = 7;
    const h = 5;
    const mask = Uint8Array.from({ length: w * h }, (_, i) => (i % w >= 3 ? 1 : 0));
    const file = path.join(dir, 'mask.png');
    await writeMaskPng(mask, w, h, file);
    const { width, height, data } = await pngPixels(file);
    expect([width, height]).toEqual([w, h]);
    for (let i = 0; i < w * h; i++) expect([i, data[i * 4], data[i * 4 + 1]]).toEqual([i, mask[i] ? 255 : 0, mask[i] ? 255 : 0]);
    expect(fs.readFileSync(file)[25]).toBe(0); // IHDR colour type 0: single-channel grey, as ISIC's masks
  });

  test('writeOverlayPng writes an RGB overlay of the mask at the original size', async () => {
    const image = new Uint8Array(12 * 9 * 3).fill(50);
    const mask = new Uint8Array(12 * 9).fill(1);
    const file = path.join(dir, 'overlay.png');
    await writeOverlayPng(image, mask, 12, 9, file);
    const { width, height, data } = await pngPixels(file);
    expect([width, height]).toEqual([12, 9]);
    expect([data[0], data[1], data[2]]).toEqual([...PRED_COLOUR]); // corner: prediction contour at the border
    expect(fs.readFileSync(file)[25]).toBe(2); // colour type 2: RGB, no alpha
  });
});
