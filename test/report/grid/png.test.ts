import * as fs from 'fs';
import * as path from 'path';
import { encodePng } from '../../../src/report/grid';
import { mulberry32 } from '../fixtures';
import { pngPixels, tempDirForFile } from '../helpers';

const dir = tempDirForFile();

/** Decoded by canvas (libpng), not by jimp, which encoded them. */
const readRgba = pngPixels;

describe('encodePng', () => {
  test('round-trips exact RGB and grey pixels through an independent decoder', async () => {
    const rand = mulberry32(11);
    const rgb = Uint8Array.from({ length: 5 * 3 * 3 }, () => Math.floor(rand() * 256));
    const grey = Uint8Array.from({ length: 5 * 3 }, () => Math.floor(rand() * 256));
    for (const [pixels, channels] of [
      [rgb, 3],
      [grey, 1],
    ] as const) {
      const file = path.join(dir, `c${channels}.png`);
      fs.writeFileSync(file, await encodePng(pixels, 5, 3, channels));
      const { data } = await readRgba(file);
      for (let i = 0; i < 15; i++) {
        const expected = channels === 3 ? [...rgb.subarray(i * 3, i * 3 + 3)] : [grey[i], grey[i], grey[i]];
        expect([data[i * 4], data[i * 4 + 1], data[i * 4 + 2], data[i * 4 + 3]]).toEqual([...expected, 255]);
      }
    }
  });

  test('a wrong pixel count is refused with the expected size', async () => {
    await expect(encodePng(new Uint8Array(7), 2, 2, 3)).rejects.toThrow(/expected 12 values \(2x2x3\); found 7/);
  });
});
