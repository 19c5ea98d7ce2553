/**
 * loadDataset: finds a dataset's images and masks, decodes and resizes them to S x S once, and
 * caches the result on disk (see cache.ts), so that later runs load it in a fraction of a second.
 * Images are stored RGB HWC, masks 0/1, in SharedArrayBuffers so that BatchLoader's worker threads
 * share them without copying.
 */
import * as path from 'path';
import { cacheFile, cacheKey, readCache, statSources, writeCache } from './cache';
import { decodeImage, decodeMask, resizeBilinear, resizeNearest } from './image';
import { detectLayout, listPairs, type Layout, type SamplePair } from './layouts';
import { generateSynthetic } from './synthetic';

export { detectLayout, LAYOUT_HELP, type DetectedLayout, type Layout, type SamplePair } from './layouts';

export interface Dataset {
  layout: Layout;
  root: string;
  ids: string[];
  /** Side S of the stored square images. */
  size: number;
  /** N*S*S*3 RGB, HWC per sample. */
  images: Uint8Array;
  /** N*S*S, 0/1. */
  masks: Uint8Array;
  /** [width, height] of each source image before resizing. */
  origSizes: [number, number][];
  /** Source image path per id ('' for synthetic). */
  sources: string[];
  /** Whether this load came from the on-disk cache (no decoding). */
  fromCache: boolean;
  /** The cache file used or written, null when caching is off (or synthetic). */
  cacheFile: string | null;
}

export interface LoadOptions {
  /** Side S of the stored images (every sample is resized to S x S). */
  imageSize: number;
  /**
   * Folder for decoded-dataset caches. Default `.cache/melseg` in the working directory; null
   * disables. Synthetic datasets are generated each time (as fast as reading a cache), never cached.
   */
  cacheDir?: string | null;
  /** Called after each decoded sample (and once with (N, N) on a cache hit). */
  onProgress?: (done: number, total: number) => void;
  /** Files decoded at once; decoding is CPU-bound, this only overlaps file reads. Default 4. */
  concurrency?: number;
}

export function defaultCacheDir(): string {
  return path.join(process.cwd(), '.cache', 'melseg');
}

interface Decoded {
  image: Uint8Array;
  mask: Uint8Array;
  width: number;
  height: number;
}

async function decodePair(p: SamplePair, S: number): Promise<Decoded> {
  const [img, mask] = await Promise.all([decodeImage(p.image), decodeMask(p.mask)]);
  if (img.width !== mask.width || img.height !== mask.height) {
    throw new Error(
      `Mask ${p.mask} is ${mask.width}x${mask.height} but its image ${p.image} is ${img.width}x${img.height}; ` +
        'expected the same size. Fix: resize the mask to its image with nearest-neighbour interpolation, ' +
        'or check that the two files belong together.',
    );
  }
  return {
    image: resizeBilinear(img, S).data,
    mask: resizeNearest(mask, S).data,
    width: img.width,
    height: img.height,
  };
}

/**
 * Loads `spec` (a dataset folder, or `synthetic[:N]`) at imageSize x imageSize.
 * Throws with the offending file's path for missing, unreadable, mismatched or non-binary files.
 */
export async function loadDataset(spec: string, opts: LoadOptions): Promise<Dataset> {
  const S = opts.imageSize;
  if (!Number.isInteger(S) || S < 1) throw new Error(`loadDataset: imageSize must be a positive integer, found ${S}`);
  const detected = detectLayout(spec);

  if (detected.layout === 'synthetic') {
    const n = detected.count!;
    const { ids, images, masks } = generateSynthetic(n, S, opts.onProgress);
    return {
      layout: 'synthetic',
      root: detected.root,
      ids,
      size: S,
      images,
      masks,
      origSizes: ids.map(() => [S, S]),
      sources: ids.map(() => ''),
      fromCache: false,
      cacheFile: null,
    };
  }

  const pairs = listPairs(detected);
  const dir = opts.cacheDir === undefined ? defaultCacheDir() : opts.cacheDir;
  let file: string | null = null;
  let key = '';
  if (dir !== null) {
    const stats = await statSources(pairs.flatMap((p) => [p.image, p.mask]));
    key = cacheKey(detected.layout, S, stats);
    file = cacheFile(dir, detected.layout, S, key);
    const hit = await readCache(file, key);
    if (hit) {
      opts.onProgress?.(hit.ids.length, hit.ids.length);
      return { ...hit, fromCache: true, cacheFile: file };
    }
  }

  const n = pairs.length;
  const plane = S * S;
  const images = new Uint8Array(new SharedArrayBuffer(n * plane * 3));
  const masks = new Uint8Array(new SharedArrayBuffer(n * plane));
  const origSizes: [number, number][] = new Array(n);
  let next = 0;
  let done = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (next < n && !failed) {
      const i = next++;
      let d: Decoded;
      try {
        d = await decodePair(pairs[i]!, S);
      } catch (e) {
        failed = true; // stop the other lanes: the first error is the one reported
        throw e;
      }
      images.set(d.image, i * plane * 3);
      masks.set(d.mask, i * plane);
      origSizes[i] = [d.width, d.height];
      opts.onProgress?.(++done, n);
    }
  };
  const lanes = Math.max(1, Math.min(opts.concurrency ?? 4, n));
  await Promise.all(Array.from({ length: lanes }, lane));

  const ds: Dataset = {
    layout: detected.layout,
    root: detected.root,
    ids: pairs.map((p) => p.id),
    size: S,
    images,
    masks,
    origSizes,
    sources: pairs.map((p) => p.image),
    fromCache: false,
    cacheFile: file,
  };
  if (file !== null) {
    try {
      await writeCache(file, key, ds);
    } catch (e) {
      // The data is decoded and usable; only the next run's speed-up is lost.
      process.emitWarning((e as Error).message, 'MelsegCacheWarning');
      ds.cacheFile = null;
    }
  }
  return ds;
}
