import { existsSync, readdirSync, utimesSync, writeFileSync } from 'fs';
import * as path from 'path';
import { loadDataset } from '../../src/data/datasets';
import * as image from '../../src/data/image';
import { dataCacheDir } from '../../src/util/paths';
import { removeDir, tmpDir, to255, cornerMask, writePairs, writeRaster } from './helpers/fixtures';

let dir: string;
let root: string;
let cacheDir: string;
beforeAll(async () => {
  dir = tmpDir('cache');
  root = path.join(dir, 'isic');
  cacheDir = path.join(dir, 'cache');
  await writePairs(root, [
    { id: 'a', width: 8, height: 8, ext: '.png', top: [200, 100, 50], bottom: [10, 20, 30], maskRows: 2 },
    { id: 'b', width: 6, height: 8, ext: '.jpg', top: [90, 80, 70], bottom: [250, 240, 230], maskRows: 5 },
  ]);
});
afterAll(() => {
  jest.restoreAllMocks();
  removeDir(dir);
});

describe('dataset cache', () => {
  it('decodes on the first load, then loads identical bytes from the cache without decoding', async () => {
    const decodeImage = jest.spyOn(image, 'decodeImage');
    const decodeMask = jest.spyOn(image, 'decodeMask');
    const first = await loadDataset(root, { imageSize: 4, cacheDir });
    expect(first.fromCache).toBe(false);
    expect(decodeImage).toHaveBeenCalledTimes(2);
    expect(decodeMask).toHaveBeenCalledTimes(2);
    expect(readdirSync(cacheDir).filter((f) => f.endsWith('.bin'))).toEqual([path.basename(first.cacheFile!)]);
    expect(readdirSync(cacheDir).some((f) => f.endsWith('.tmp'))).toBe(false);

    decodeImage.mockClear();
    decodeMask.mockClear();
    const progress: [number, number][] = [];
    const second = await loadDataset(root, { imageSize: 4, cacheDir, onProgress: (d, t) => progress.push([d, t]) });
    expect(second.fromCache).toBe(true);
    expect(decodeImage).not.toHaveBeenCalled();
    expect(decodeMask).not.toHaveBeenCalled();
    expect(progress).toEqual([[2, 2]]);
    expect(second.images.buffer).toBeInstanceOf(SharedArrayBuffer);
    const { fromCache: _a, ...firstData } = first;
    const { fromCache: _b, ...secondData } = second;
    expect(Buffer.from(second.images).equals(Buffer.from(first.images))).toBe(true);
    expect(Buffer.from(second.masks).equals(Buffer.from(first.masks))).toBe(true);
    expect({ ...secondData, images: null, masks: null }).toEqual({ ...firstData, images: null, masks: null });
  });

  it('is keyed by the image size', async () => {
    const other = await loadDataset(root, { imageSize: 2, cacheDir });
    expect(other.fromCache).toBe(false);
    expect(other.images.length).toBe(2 * 2 * 2 * 3);
  });

  it('is invalidated when a source file changes', async () => {
    const before = await loadDataset(root, { imageSize: 4, cacheDir });
    expect(before.fromCache).toBe(true);
    const maskFile = path.join(root, 'masks', 'a_segmentation.png');
    await writeRaster(maskFile, 8, 8, to255(cornerMask(8, 8, 8, 4))); // left half instead of top rows
    const future = new Date(Date.now() + 60_000);
    utimesSync(maskFile, future, future);
    const after = await loadDataset(root, { imageSize: 4, cacheDir });
    expect(after.fromCache).toBe(false);
    expect(Array.from(after.masks.subarray(0, 4))).toEqual([1, 1, 0, 0]);
    expect(after.cacheFile).not.toBe(before.cacheFile);
  });

  it('treats a corrupt cache file as a miss and rewrites it', async () => {
    const first = await loadDataset(root, { imageSize: 4, cacheDir });
    writeFileSync(first.cacheFile!, 'MELSEGDS garbage');
    const again = await loadDataset(root, { imageSize: 4, cacheDir });
    expect(again.fromCache).toBe(false);
    expect(Buffer.from(again.images).equals(Buffer.from(first.images))).toBe(true);
    expect((await loadDataset(root, { imageSize: 4, cacheDir })).fromCache).toBe(true);
  });

  it("defaults to the user's cache folder (MELSEG_CACHE_DIR / XDG), not the working directory", async () => {
    const before = existsSync(path.join(process.cwd(), '.cache', 'melseg'));
    const ds = await loadDataset(root, { imageSize: 3 });
    expect(path.dirname(ds.cacheFile!)).toBe(dataCacheDir());
    expect(dataCacheDir()).toBe(path.join(process.env.MELSEG_CACHE_DIR!, 'data'));
    expect(existsSync(ds.cacheFile!)).toBe(true);
    expect((await loadDataset(root, { imageSize: 3 })).fromCache).toBe(true);
    expect(existsSync(path.join(process.cwd(), '.cache', 'melseg'))).toBe(before);
  });

  it('keeps the mask warnings across a cache hit', async () => {
    const emptyRoot = path.join(dir, 'empty-masks');
    await writePairs(emptyRoot, [{ id: 'a', width: 4, height: 4, ext: '.png', top: [1, 2, 3], bottom: [4, 5, 6], maskRows: 0 }]);
    const first = await loadDataset(emptyRoot, { imageSize: 2, cacheDir });
    const second = await loadDataset(emptyRoot, { imageSize: 2, cacheDir });
    expect(second.fromCache).toBe(true);
    expect(second.warnings).toEqual(first.warnings);
    expect(second.warnings[0]).toMatch(/^Every mask of .* is empty/);
  });

  it('caches the source-resolution samples apart, keyed by the cap, and reloads them byte for byte', async () => {
    const decodeImage = jest.spyOn(image, 'decodeImage');
    const first = await loadDataset(root, { imageSize: 4, cacheDir, keepSource: { maxSide: 6 } });
    decodeImage.mockClear();
    const again = await loadDataset(root, { imageSize: 4, cacheDir, keepSource: { maxSide: 6 } });
    expect(again.fromCache).toBe(true);
    expect(decodeImage).not.toHaveBeenCalled();
    expect(again.sourceRes!.sizes).toEqual(first.sourceRes!.sizes);
    expect(again.sourceRes!.sizes).toEqual([[6, 6], [5, 6]]);
    for (let i = 0; i < 2; i++) {
      expect(Buffer.from(again.sourceRes!.images[i]!).equals(Buffer.from(first.sourceRes!.images[i]!))).toBe(true);
      expect(Buffer.from(again.sourceRes!.masks[i]!).equals(Buffer.from(first.sourceRes!.masks[i]!))).toBe(true);
      expect(again.sourceRes!.images[i]!.buffer).toBeInstanceOf(SharedArrayBuffer);
    }
    const originals = await loadDataset(root, { imageSize: 4, cacheDir, keepSource: { maxSide: null } });
    expect(originals.fromCache).toBe(false);
    expect(originals.sourceRes!.sizes).toEqual([[8, 8], [6, 8]]);
    expect(readdirSync(cacheDir).filter((f) => f.includes('-src')).sort()).toEqual([
      expect.stringMatching(/^isic-src6-[0-9a-f]{24}\.bin$/),
      expect.stringMatching(/^isic-srcorig-[0-9a-f]{24}\.bin$/),
    ]);
  });

  it('warns, and still loads, when the cache cannot be written', async () => {
    const blocked = path.join(dir, 'a-file');
    writeFileSync(blocked, 'not a folder');
    const ds = await loadDataset(root, { imageSize: 5, cacheDir: blocked });
    expect(ds.images.length).toBe(2 * 5 * 5 * 3);
    expect(ds.cacheFile).toBeNull();
    expect(ds.warnings).toEqual([expect.stringMatching(new RegExp(`^The decoded dataset could not be cached: could not write ${blocked}/isic-5-.*MELSEG_CACHE_DIR`))]);
  });
});
