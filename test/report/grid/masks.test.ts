import * as fs from 'fs';
import * as path from 'path';
import { PRED_COLOUR, encodePng, resizeProbability, saveMaskPng, saveOverlayPng } from '../../../src/report/grid';
import { mulberry32 } from '../fixtures';
import { pngPixels, tempDir } from '../helpers';

let dir: string;
beforeAll(() => {
  dir = tempDir();
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Decoded by canvas (libpng), not by jimp, which encoded them. */
const readRgba = pngPixels;

describe('predict outputs', () => {
  test('saveMaskPng resizes to the original size and writes grey 0/255 at threshold 0.5', async () => {
    const S = 8;
    const prob = new Float32Array(S * S);
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) prob[y * S + x] = x < S / 2 ? 0.2 : 0.8;
    const file = path.join(dir, 'mask.png');
    await saveMaskPng(prob, 30, 20, file);
    const { width, height, data } = await readRgba(file);
    expect([width, height]).toEqual([30, 20]);
    for (let y = 0; y < 20; y++) {
      for (let x = 0; x < 30; x++) {
        const v = data[(y * 30 + x) * 4];
        expect(v).toBe(x < 15 ? 0 : 255); // the 0.5 crossing of the bilinear ramp is the image centre
        expect(data[(y * 30 + x) * 4 + 1]).toBe(v);
      }
    }
    expect(fs.readFileSync(file)[25]).toBe(0); // IHDR colour type 0: single-channel grey, as ISIC's masks
    await expect(saveMaskPng(new Float32Array(10), 4, 4, path.join(dir, 'x.png'))).rejects.toThrow(/square S\*S probability map; found 10 values/);
  });

  test('saveOverlayPng writes an RGB overlay at the original size', async () => {
    const image = new Uint8Array(12 * 9 * 3).fill(50);
    const prob = new Float32Array(4 * 4).fill(0.9);
    const file = path.join(dir, 'overlay.png');
    await saveOverlayPng(image, prob, 12, 9, file);
    const { width, height, data } = await readRgba(file);
    expect([width, height]).toEqual([12, 9]);
    expect([data[0], data[1], data[2]]).toEqual([...PRED_COLOUR]); // corner: prediction contour at the border
    expect(fs.readFileSync(file)[25]).toBe(2); // colour type 2: RGB, no alpha
  });
});

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

describe('resizeProbability', () => {
  test('keeps a constant map and is the identity at the same size', () => {
    const rand = mulberry32(9);
    const p = Float32Array.from({ length: 25 }, () => rand());
    expect(resizeProbability(p, 5, 5, 5, 5)).toEqual(p);
    expect([...resizeProbability(new Float32Array(16).fill(0.25), 4, 4, 7, 3)].every((v) => Math.abs(v - 0.25) < 1e-7)).toBe(true);
  });
});
