import { readFileSync, writeFileSync } from 'fs';
import * as path from 'path';
import { decodeImage, decodeMask, resizeBilinear, resizeNearest } from '../../src/data/image';
import { resampleBilinear } from '../../src/data/resample';
import { PNG } from 'pngjs';
import { encodeBmp1, encodeBmp24 } from './helpers/bmp';
import { encodePng } from './helpers/png';
import { cornerMask, removeDir, tmpDir, to255, twoTone, writeRaster } from './helpers/fixtures';

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

let dir: string;
beforeAll(() => {
  dir = tmpDir('image');
});
afterAll(() => removeDir(dir));

describe('decodeImage', () => {
  it('decodes a 24-bit bottom-up BMP to RGB in top-to-bottom row order', async () => {
    const w = 5;
    const h = 3;
    const rgb = new Uint8Array(w * h * 3).map((_, i) => (i * 17) % 256);
    const file = path.join(dir, 'bu.bmp');
    writeFileSync(file, encodeBmp24(w, h, rgb));
    const img = await decodeImage(file);
    expect([img.width, img.height, img.channels]).toEqual([w, h, 3]);
    expect(Array.from(img.data)).toEqual(Array.from(rgb));
  });

  it('drops the alpha channel of a PNG', async () => {
    const file = path.join(dir, 'rgb.png');
    await writeRaster(file, 2, 2, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
    const img = await decodeImage(file);
    expect(Array.from(img.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('names the file when the bytes are not an image', async () => {
    const file = path.join(dir, 'garbage.jpg');
    writeFileSync(file, 'not an image at all');
    await expect(decodeImage(file)).rejects.toThrow(`Cannot decode image ${file}: unknown file format`);
  });

  it('says a JPEG cut off in the middle is truncated, naming the file and the fix (not "Unknown error")', async () => {
    const good = path.join(dir, 'good.jpg');
    await writeRaster(good, 32, 32, twoTone(32, 32, [10, 20, 30], [40, 50, 60]));
    const bytes = readFileSync(good);
    const file = path.join(dir, 'truncated.jpg');
    writeFileSync(file, bytes.subarray(0, bytes.length >> 1));
    await expect(decodeImage(file)).rejects.toThrow(
      new RegExp(`^Cannot decode image ${escape(file)}: the file is truncated \\(\\d+ bytes, without the end-of-image marker FFD9 .*copy or download it again, or remove it`),
    );
    writeFileSync(file, bytes.subarray(0, 40));
    await expect(decodeImage(file)).rejects.toThrow(/the file is truncated/);
  });

  it('says a complete JPEG with damaged data is corrupt, with the decoder\'s message', async () => {
    const good = path.join(dir, 'good2.jpg');
    await writeRaster(good, 8, 8, twoTone(8, 8, [10, 20, 30], [40, 50, 60]));
    const bytes = Buffer.from(readFileSync(good));
    bytes.fill(0xff, 2, 40); // SOI kept, the headers after it destroyed, EOI kept
    const file = path.join(dir, 'corrupt.jpg');
    writeFileSync(file, bytes);
    await expect(decodeImage(file)).rejects.toThrow(new RegExp(`^Cannot decode image ${escape(file)}: the image/jpeg data is corrupt \\(decoder: .+\\)\\. Re-export`));
  });

  it('says a PNG without its IEND chunk is truncated', async () => {
    const good = path.join(dir, 'good.png');
    await writeRaster(good, 16, 16, twoTone(16, 16, [10, 20, 30], [40, 50, 60]));
    const bytes = readFileSync(good);
    const file = path.join(dir, 'truncated.png');
    writeFileSync(file, bytes.subarray(0, bytes.length - 20));
    await expect(decodeImage(file)).rejects.toThrow(`Cannot decode image ${file}: the file is truncated`);
  });

  it('names the file when it does not exist', async () => {
    const file = path.join(dir, 'absent.png');
    await expect(decodeImage(file)).rejects.toThrow(`Cannot read image ${file}`);
  });
});

describe('decodeMask', () => {
  const w = 6;
  const h = 4;
  const expected = Array.from(cornerMask(w, h, 1, 2));

  it('reads a 1-bit BMP mask as 0/1 with the right orientation', async () => {
    const file = path.join(dir, 'm1.bmp');
    writeFileSync(file, encodeBmp1(w, h, cornerMask(w, h, 1, 2)));
    expect(Array.from((await decodeMask(file)).data)).toEqual(expected);
  });

  it('reads a 24-bit top-down BMP mask (negative height) without flipping it', async () => {
    const file = path.join(dir, 'm24td.bmp');
    const m = cornerMask(w, h, 1, 2);
    const rgb = new Uint8Array(w * h * 3).map((_, i) => m[Math.floor(i / 3)]! * 255);
    writeFileSync(file, encodeBmp24(w, h, rgb, true));
    expect(Array.from((await decodeMask(file)).data)).toEqual(expected);
  });

  it('accepts 0/255, 0/1 and any two-valued grey mask', async () => {
    const m = cornerMask(w, h, 1, 2);
    for (const [name, data] of [
      ['m255.png', to255(m)],
      ['m01.png', m],
      ['m200.png', m.map((v) => (v ? 200 : 30))],
    ] as const) {
      const file = path.join(dir, name);
      await writeRaster(file, w, h, data);
      expect(Array.from((await decodeMask(file)).data)).toEqual(expected);
    }
  });

  it('tolerates JPEG ringing and anti-aliased edges', async () => {
    const S = 32;
    const file = path.join(dir, 'mask.jpg');
    await writeRaster(file, S, S, to255(cornerMask(S, S, 16, 16)), 90);
    const mask = await decodeMask(file);
    expect(mask.data[0]).toBe(1);
    expect(mask.data[S * S - 1]).toBe(0);
    const ones = mask.data.reduce((a, v) => a + v, 0);
    expect(Math.abs(ones - 256)).toBeLessThan(16);
  });

  it('rejects a greyscale photo as not binary, naming the file', async () => {
    const file = path.join(dir, 'photo.png');
    const grey = new Uint8Array(16 * 16).map((_, i) => i % 256);
    await writeRaster(file, 16, 16, grey);
    await expect(decodeMask(file)).rejects.toThrow(`Mask ${file} is not binary`);
  });
});

describe('decodeMask on 16-bit and transparent masks', () => {
  const w = 6;
  const h = 4;
  const m = cornerMask(w, h, 1, 2);
  const expected = Array.from(m);
  /** Interleaves per-pixel [grey or RGB..., alpha] samples. */
  const pixels = (f: (lesion: number) => number[]): number[] => Array.from(m).flatMap((v) => f(v));

  it('reads a 16-bit grey PNG of 0/1 labels, which scaling to 8 bits would read as empty', async () => {
    const file = path.join(dir, 'm16-01.png');
    writeFileSync(file, encodePng(w, h, 1, 16, pixels((v) => [v])));
    expect(Array.from((await decodeMask(file)).data)).toEqual(expected);
    // What melseg 0.1 read: jimp's PNG decoder (pngjs, scaling to 8 bits) turns 1/65535 into 0.
    const scaled = PNG.sync.read(readFileSync(file));
    expect(scaled.data.every((v, i) => i % 4 === 3 || v === 0)).toBe(true);
  });

  it('reads 16-bit 0/65535 grey and 16-bit RGB masks', async () => {
    const grey = path.join(dir, 'm16-full.png');
    writeFileSync(grey, encodePng(w, h, 1, 16, pixels((v) => [v * 65535])));
    expect(Array.from((await decodeMask(grey)).data)).toEqual(expected);
    const rgb = path.join(dir, 'm16-rgb.png');
    writeFileSync(rgb, encodePng(w, h, 3, 16, pixels((v) => [v * 1000, v * 1000, v * 1000])));
    expect(Array.from((await decodeMask(rgb)).data)).toEqual(expected);
  });

  it('takes the shape from the alpha channel when the colour is the same everywhere', async () => {
    for (const [name, rgb] of [['white', 255], ['black', 0]] as const) {
      const file = path.join(dir, `alpha-${name}.png`);
      writeFileSync(file, encodePng(w, h, 4, 8, pixels((v) => [rgb, rgb, rgb, v * 255])));
      expect(Array.from((await decodeMask(file)).data)).toEqual(expected);
    }
    const ga16 = path.join(dir, 'alpha-ga16.png');
    writeFileSync(ga16, encodePng(w, h, 2, 16, pixels((v) => [65535, v * 65535])));
    expect(Array.from((await decodeMask(ga16)).data)).toEqual(expected);
  });

  it('reads the colour when colour and alpha agree (lesion opaque white, background transparent black)', async () => {
    const file = path.join(dir, 'alpha-agree.png');
    writeFileSync(file, encodePng(w, h, 4, 8, pixels((v) => [v * 255, v * 255, v * 255, v * 255])));
    expect(Array.from((await decodeMask(file)).data)).toEqual(expected);
  });

  it('refuses a mask whose colour and alpha draw different shapes, naming the file and a fix', async () => {
    const file = path.join(dir, 'alpha-disagree.png');
    const other = cornerMask(w, h, 4, 1);
    writeFileSync(file, encodePng(w, h, 4, 8, Array.from(m).flatMap((v, i) => [v * 255, v * 255, v * 255, other[i]! * 255])));
    const err = decodeMask(file);
    await expect(err).rejects.toThrow(`Mask ${file} draws different shapes in its colour and in its alpha (transparency) channel`);
    await expect(err).rejects.toThrow('-background black -alpha remove -alpha off');
  });

  it('still rejects a 16-bit grey photo as not binary', async () => {
    const file = path.join(dir, 'photo16.png');
    writeFileSync(file, encodePng(16, 16, 1, 16, Array.from({ length: 256 }, (_, i) => i * 257)));
    await expect(decodeMask(file)).rejects.toThrow(`Mask ${file} is not binary: 256 distinct grey levels`);
  });
});

describe('decodeImage on 16-bit PNGs', () => {
  it('scales 16-bit samples to 8 bits (v * 255 / 65535, rounded)', async () => {
    const file = path.join(dir, 'rgb16.png');
    writeFileSync(file, encodePng(2, 1, 3, 16, [0, 65535, 257 * 100, 257 * 7, 1000, 65535]));
    expect(Array.from((await decodeImage(file)).data)).toEqual([0, 255, 100, 7, 4, 255]);
  });
});

describe('resize', () => {
  it('enlarges like PyTorch bilinear with align_corners=false', () => {
    // 1x2 -> 1x4: sample points -0.25, 0.25, 0.75, 1.25 -> clamped 0, 0.25, 0.75, 1.
    const f = resampleBilinear([0, 200], 2, 1, 1, { x: 0, y: 0, w: 2, h: 1 }, 4, 1);
    expect(Array.from(f)).toEqual([0, 50, 150, 200]);
  });

  it('keeps a constant image constant and the top/bottom orientation when shrinking', () => {
    const img = { data: twoTone(12, 8, [200, 10, 30], [5, 100, 250]), width: 12, height: 8, channels: 3 };
    const out = resizeBilinear(img, 4);
    expect(Array.from(out.data.subarray(0, 3))).toEqual([200, 10, 30]);
    expect(Array.from(out.data.subarray(out.data.length - 3))).toEqual([5, 100, 250]);
  });

  it('resizes masks by nearest neighbour at pixel centres and keeps them 0/1', () => {
    const row = [0, 1, 0, 1, 1, 0, 1, 0];
    const mask = { data: new Uint8Array([...row, ...row]), width: 8, height: 2 };
    // 8 -> 4 reads source columns floor((o + 0.5) * 2) = 1, 3, 5, 7.
    const out = resizeNearest(mask, 4);
    expect(Array.from(out.data.subarray(0, 4))).toEqual([1, 1, 0, 0]);
  });
});
