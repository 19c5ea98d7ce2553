import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'fs';
import * as path from 'path';
import { defaultSourceMaxSide, detectLayout, loadDataset } from '../../src/data/datasets';
import { decodeImage } from '../../src/data/image';
import { cornerMask, maskRow, pixel, removeDir, tmpDir, twoTone, writePairs, writePh2, writeRaster, type RGB } from './helpers/fixtures';
import { encodePng } from './helpers/png';

const RED: RGB = [220, 30, 40];
const BLUE: RGB = [20, 60, 230];
const SKIN: RGB = [210, 160, 140];
const DARK: RGB = [70, 40, 30];

let dir: string;
beforeAll(() => {
  dir = tmpDir('datasets');
});
afterAll(() => removeDir(dir));

describe('PH2 layout', () => {
  let ph2: string;
  beforeAll(() => {
    ph2 = writePh2(path.join(dir, 'ph2'), [
      { id: 'IMD002', width: 12, height: 8, top: RED, bottom: BLUE, maskRows: 2, maskFormat: '1bit' },
      { id: 'IMD003', width: 10, height: 8, top: BLUE, bottom: RED, maskRows: 2, maskFormat: '24bit-topdown' },
      { id: 'IMD004', width: 8, height: 8, top: SKIN, bottom: DARK, maskRows: 6, maskFormat: '1bit' },
    ]);
  });

  it('is found from the PH2Dataset folder, its "PH2 Dataset images" folder and their parent', () => {
    const images = path.join(ph2, 'PH2 Dataset images');
    for (const spec of [ph2, images, path.dirname(ph2)]) {
      expect(detectLayout(spec)).toEqual({ layout: 'ph2', root: images });
    }
  });

  it('decodes 1-bit and top-down 24-bit masks the right way up, and bottom-up 24-bit images', async () => {
    const ds = await loadDataset(ph2, { imageSize: 4, cacheDir: null });
    expect(ds.layout).toBe('ph2');
    expect(ds.ids).toEqual(['IMD002', 'IMD003', 'IMD004']);
    expect(ds.origSizes).toEqual([[12, 8], [10, 8], [8, 8]]);
    expect(ds.sources[0]).toBe(path.join(ph2, 'PH2 Dataset images', 'IMD002', 'IMD002_Dermoscopic_Image', 'IMD002.bmp'));
    expect(ds.images.length).toBe(3 * 4 * 4 * 3);
    // Image rows 0..3 of 8 are `top`: after resizing to 4, row 0 is pure `top`, row 3 pure `bottom`.
    expect(pixel(ds.images, 4, 0, 0, 0)).toEqual(RED);
    expect(pixel(ds.images, 4, 0, 3, 3)).toEqual(BLUE);
    expect(pixel(ds.images, 4, 1, 0, 0)).toEqual(BLUE);
    // Masks: 2 of 8 rows -> 1 of 4 rows (top); 6 of 8 -> 3 of 4.
    for (const i of [0, 1]) {
      expect(maskRow(ds.masks, 4, i, 0)).toEqual([1, 1, 1, 1]);
      expect(maskRow(ds.masks, 4, i, 1)).toEqual([0, 0, 0, 0]);
      expect(maskRow(ds.masks, 4, i, 3)).toEqual([0, 0, 0, 0]);
    }
    expect(maskRow(ds.masks, 4, 2, 2)).toEqual([1, 1, 1, 1]);
    expect(maskRow(ds.masks, 4, 2, 3)).toEqual([0, 0, 0, 0]);
  });
});

describe('ISIC-style and plain folders', () => {
  it('pairs images/<id>.jpg|png with masks/<id>_segmentation.png and descends into a single subfolder', async () => {
    const root = path.join(dir, 'isic');
    await writePairs(path.join(root, 'train'), [
      { id: 'ISIC_0000001', width: 8, height: 6, ext: '.png', top: RED, bottom: BLUE, maskRows: 3 },
      { id: 'ISIC_0000000', width: 6, height: 8, ext: '.jpg', top: SKIN, bottom: DARK, maskRows: 4 },
    ]);
    const d = detectLayout(root);
    expect(d.layout).toBe('isic');
    expect(d.root).toBe(path.join(root, 'train'));
    const ds = await loadDataset(root, { imageSize: 4, cacheDir: null });
    expect(ds.ids).toEqual(['ISIC_0000000', 'ISIC_0000001']);
    expect(ds.origSizes).toEqual([[6, 8], [8, 6]]);
    expect(pixel(ds.images, 4, 1, 2, 0)).toEqual(RED); // PNG: lossless
    const jpegTop = pixel(ds.images, 4, 0, 2, 0);
    jpegTop.forEach((v, c) => expect(Math.abs(v - SKIN[c]!)).toBeLessThanOrEqual(6));
    expect(maskRow(ds.masks, 4, 0, 0)).toEqual([1, 1, 1, 1]);
    expect(maskRow(ds.masks, 4, 0, 3)).toEqual([0, 0, 0, 0]);
  });

  it('pairs plain images/ and masks/ by identical file stem (layout "folders")', async () => {
    const root = path.join(dir, 'plain');
    await writePairs(root, [{ id: 'b', width: 4, height: 4, ext: '.png', top: RED, bottom: BLUE, maskRows: 2 }], 'plain');
    await writePairs(root, [{ id: 'a', width: 4, height: 4, ext: '.jpg', top: RED, bottom: BLUE, maskRows: 1 }], 'plain');
    const ds = await loadDataset(root, { imageSize: 4, cacheDir: null });
    expect(ds.layout).toBe('folders');
    expect(ds.ids).toEqual(['a', 'b']);
    expect(maskRow(ds.masks, 4, 0, 0)).toEqual([1, 1, 1, 1]);
    expect(maskRow(ds.masks, 4, 0, 1)).toEqual([0, 0, 0, 0]);
    expect(maskRow(ds.masks, 4, 1, 1)).toEqual([1, 1, 1, 1]);
  });
});

describe('mask warnings', () => {
  const pair = (id: string, maskRows: number) => ({ id, width: 4, height: 4, ext: '.png' as const, top: RED, bottom: BLUE, maskRows });

  it('say when every mask of the dataset is empty', async () => {
    const root = path.join(dir, 'all-empty');
    await writePairs(root, [pair('a', 0), pair('b', 0)]);
    const ds = await loadDataset(root, { imageSize: 4, cacheDir: null });
    expect(ds.warnings).toHaveLength(1);
    expect(ds.warnings[0]).toMatch(new RegExp(`^Every mask of ${root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is empty \\(2 of 2 have no lesion pixel\\)`));
  });

  it('count and name empty and all-lesion masks, and stay silent on a normal dataset', async () => {
    const root = path.join(dir, 'some-empty');
    await writePairs(root, [pair('a', 2), pair('b', 0), pair('c', 4)]);
    const ds = await loadDataset(root, { imageSize: 4, cacheDir: null });
    expect(ds.warnings).toEqual([
      '1 of 3 masks are empty (no lesion pixel): b. Check them if every image should show a lesion.',
      expect.stringMatching(/^1 of 3 masks are lesion everywhere: c\. Such a mask is usually inverted/),
    ]);
    const fine = path.join(dir, 'fine');
    await writePairs(fine, [pair('a', 2), pair('b', 1)]);
    expect((await loadDataset(fine, { imageSize: 4, cacheDir: null })).warnings).toEqual([]);
    expect((await loadDataset('synthetic:3', { imageSize: 16 })).warnings).toEqual([]);
  });

  it('do not fire for 16-bit label masks and alpha-only masks, which are read as drawn', async () => {
    const root = path.join(dir, 'hostile');
    const m = cornerMask(4, 4, 1);
    await writeRaster(path.join(root, 'images', 'a.png'), 4, 4, twoTone(4, 4, RED, BLUE));
    await writeRaster(path.join(root, 'images', 'b.png'), 4, 4, twoTone(4, 4, RED, BLUE));
    mkdirSync(path.join(root, 'masks'));
    writeFileSync(path.join(root, 'masks', 'a.png'), encodePng(4, 4, 1, 16, Array.from(m)));
    writeFileSync(path.join(root, 'masks', 'b.png'), encodePng(4, 4, 4, 8, Array.from(m).flatMap((v) => [255, 255, 255, v * 255])));
    const ds = await loadDataset(root, { imageSize: 4, cacheDir: null });
    expect(ds.warnings).toEqual([]);
    for (const i of [0, 1]) {
      expect(maskRow(ds.masks, 4, i, 0)).toEqual([1, 1, 1, 1]);
      expect(maskRow(ds.masks, 4, i, 1)).toEqual([0, 0, 0, 0]);
    }
  });
});

describe('source resolution (keepSource)', () => {
  let ph2: string;
  beforeAll(() => {
    ph2 = writePh2(path.join(dir, 'ph2-src'), [
      { id: 'IMD002', width: 12, height: 8, top: RED, bottom: BLUE, maskRows: 2, maskFormat: '1bit' },
      { id: 'IMD003', width: 10, height: 6, top: SKIN, bottom: DARK, maskRows: 3, maskFormat: '24bit-topdown' },
    ]);
  });

  it('is off by default', async () => {
    expect((await loadDataset(ph2, { imageSize: 4, cacheDir: null })).sourceRes).toBeNull();
  });

  it('keeps the decoded originals with maxSide null, beside identical S x S samples', async () => {
    const plain = await loadDataset(ph2, { imageSize: 4, cacheDir: null });
    const ds = await loadDataset(ph2, { imageSize: 4, cacheDir: null, keepSource: { maxSide: null } });
    expect(Buffer.from(ds.images).equals(Buffer.from(plain.images))).toBe(true);
    const src = ds.sourceRes!;
    expect(src.maxSide).toBeNull();
    expect(src.sizes).toEqual([[12, 8], [10, 6]]);
    const original = await decodeImage(ds.sources[1]!);
    expect(Buffer.from(src.images[1]!).equals(Buffer.from(original.data))).toBe(true);
    expect(Array.from(src.masks[0]!)).toEqual(Array.from(cornerMask(12, 8, 2)));
    expect(src.images.every((a) => a.buffer instanceof SharedArrayBuffer)).toBe(true);
  });

  it('caps the longer side, keeping the aspect ratio, and defaults to 4 S', async () => {
    const ds = await loadDataset(ph2, { imageSize: 2, cacheDir: null, keepSource: { maxSide: 6 } });
    expect(ds.sourceRes!.sizes).toEqual([[6, 4], [6, 4]]);
    expect(Array.from(ds.sourceRes!.masks[0]!)).toEqual(Array.from(cornerMask(6, 4, 1)));
    expect(pixel(ds.sourceRes!.images[0]!, 0, 0, 0, 0)).toEqual(RED);
    expect(defaultSourceMaxSide(2)).toBe(8);
    const dflt = await loadDataset(ph2, { imageSize: 2, cacheDir: null, keepSource: true });
    expect(dflt.sourceRes!.maxSide).toBe(8);
    expect(dflt.sourceRes!.sizes).toEqual([[8, 5], [8, 5]]);
  });

  it('generates synthetic sources at maxSide (default 2 S) without changing the S x S samples', async () => {
    const plain = await loadDataset('synthetic:3', { imageSize: 16 });
    const ds = await loadDataset('synthetic:3', { imageSize: 16, keepSource: true });
    expect(Buffer.from(ds.images).equals(Buffer.from(plain.images))).toBe(true);
    expect(ds.sourceRes!.sizes).toEqual([[32, 32], [32, 32], [32, 32]]);
    expect(ds.sourceRes!.images[2]!.length).toBe(32 * 32 * 3);
    expect((await loadDataset('synthetic:1', { imageSize: 16, keepSource: { maxSide: 40 } })).sourceRes!.sizes).toEqual([[40, 40]]);
  });

  it('rejects a cap that is not a positive integer', async () => {
    await expect(loadDataset(ph2, { imageSize: 4, cacheDir: null, keepSource: { maxSide: 0 } })).rejects.toThrow(
      'keepSource.maxSide must be a positive integer or null (the originals), found 0',
    );
  });
});

describe('synthetic', () => {
  it('is deterministic, lesion-like, and synthetic:N is a prefix of synthetic:M', async () => {
    const S = 32;
    const a = await loadDataset('synthetic:4', { imageSize: S });
    const b = await loadDataset('synthetic:4', { imageSize: S });
    const c = await loadDataset('synthetic:2', { imageSize: S });
    expect(a.layout).toBe('synthetic');
    expect(a.ids).toEqual(['synth-0000', 'synth-0001', 'synth-0002', 'synth-0003']);
    expect(Buffer.from(a.images).equals(Buffer.from(b.images))).toBe(true);
    expect(Buffer.from(a.masks).equals(Buffer.from(b.masks))).toBe(true);
    expect(Buffer.from(c.images).equals(Buffer.from(a.images.subarray(0, 2 * S * S * 3)))).toBe(true);
    expect(a.sources).toEqual(['', '', '', '']);
    expect(a.origSizes[0]).toEqual([S, S]);
    for (let i = 0; i < 4; i++) {
      // A lesion covers part, not all, of the image, and is darker than the skin around it.
      const m = a.masks.subarray(i * S * S, (i + 1) * S * S);
      const area = m.reduce((s, v) => s + v, 0);
      expect(area).toBeGreaterThan(0.02 * S * S);
      expect(area).toBeLessThan(0.6 * S * S);
      let inside = 0;
      let outside = 0;
      for (let k = 0; k < S * S; k++) {
        const g = a.images[(i * S * S + k) * 3 + 1]!;
        if (m[k]) inside += g / area;
        else outside += g / (S * S - area);
      }
      expect(inside).toBeLessThan(outside - 20);
    }
  });

  it('defaults to 64 samples', () => {
    expect(detectLayout('synthetic')).toEqual({ layout: 'synthetic', root: 'synthetic:64', count: 64 });
  });
});

/**
 * The real ISIC 2017 training set (CC0): MELSEG_ISIC2017 names a folder holding train/images and
 * train/masks, else the shared copy beside the checkout, ../shared/data/isic2017. The tests are
 * offline and must pass on a fresh clone, so without the data this block is skipped under a title that
 * says where it looked and how to get it; a folder named by MELSEG_ISIC2017 that lacks it fails.
 */
describe('the real ISIC 2017 data', () => {
  const given = process.env.MELSEG_ISIC2017;
  const REAL = path.join(given ? path.resolve(given) : path.resolve(__dirname, '..', '..', '..', 'shared', 'data', 'isic2017'), 'train');
  const present = existsSync(path.join(REAL, 'images')) && existsSync(path.join(REAL, 'masks'));
  const how = 'download ISIC 2017 Part 1 training data from https://challenge.isic-archive.com/data/ into <dir>/train/images and <dir>/train/masks, then set MELSEG_ISIC2017=<dir>';
  if (given && !present) {
    it(`MELSEG_ISIC2017=${given} holds train/images and train/masks`, () => {
      throw new Error(`MELSEG_ISIC2017=${given}: expected ${path.join(REAL, 'images')} and ${path.join(REAL, 'masks')}, found ${existsSync(REAL) ? 'the folder without them' : 'no such folder'}; ${how}, or unset MELSEG_ISIC2017`);
    });
    return;
  }
  const title = 'loads 8 image/mask pairs at size 64 with binary, non-trivial masks';
  (present ? it : it.skip)(present ? title : `${title} (skipped: no ${REAL}; ${how})`, async () => {
    const root = path.join(dir, 'real');
    mkdirSync(path.join(root, 'train', 'images'), { recursive: true });
    mkdirSync(path.join(root, 'train', 'masks'), { recursive: true });
    const names = readdirSync(path.join(REAL, 'images')).filter((f) => f.endsWith('.jpg')).sort().slice(0, 8);
    for (const f of names) {
      const id = f.slice(0, -4);
      copyFileSync(path.join(REAL, 'images', f), path.join(root, 'train', 'images', f));
      copyFileSync(path.join(REAL, 'masks', `${id}_segmentation.png`), path.join(root, 'train', 'masks', `${id}_segmentation.png`));
    }
    const progress: number[] = [];
    const ds = await loadDataset(root, { imageSize: 64, cacheDir: null, onProgress: (done) => progress.push(done) });
    expect(ds.layout).toBe('isic');
    expect(ds.ids).toEqual(names.map((f) => f.slice(0, -4)));
    expect(ds.images.length).toBe(8 * 64 * 64 * 3);
    expect(progress).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (let i = 0; i < 8; i++) {
      const m = ds.masks.subarray(i * 4096, (i + 1) * 4096);
      expect(m.every((v) => v === 0 || v === 1)).toBe(true);
      const area = m.reduce((s, v) => s + v, 0);
      expect(area).toBeGreaterThan(0);
      expect(area).toBeLessThan(4096);
    }
  });
});
