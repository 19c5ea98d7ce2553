/**
 * loadDataset: finds a dataset's images and masks, decodes them once, resizes them to S x S (and,
 * on request, keeps them at source resolution for augmentation that crops from it), and caches
 * the result in the user's cache folder (see cache.ts), so that later runs load it in a fraction
 * of a second. Images are stored RGB HWC, masks 0/1, in SharedArrayBuffers so that BatchLoader's
 * worker threads share them without copying.
 */
import { dataCacheDir } from '../util/paths';
import { cacheFile, cacheKey, readCache, statSources, writeCache } from './cache';
import { jpegDecoderId } from './decode';
import { decodeImage, decodeMask, fitWithin, resizeBilinear, resizeNearest, type Image, type Mask } from './image';
import { detectLayout, listPairs, type Layout, type SamplePair } from './layouts';
import { generateSynthetic, syntheticIds } from './synthetic';

export { detectLayout, LAYOUT_HELP, type DetectedLayout, type Layout, type SamplePair } from './layouts';

/**
 * The samples at source resolution: the decoded originals, or, with a cap, scaled down (antialiased
 * bilinear, aspect ratio kept; masks nearest) so that the longer side is at most maxSide.
 */
export interface SourceRes {
  /** The cap on the longer side; null: the originals as decoded. */
  maxSide: number | null;
  /** [width, height] of each stored sample. */
  sizes: [number, number][];
  /** Per sample: RGB HWC, width * height * 3 bytes (SharedArrayBuffer-backed). */
  images: Uint8Array[];
  /** Per sample: 0/1, width * height bytes. */
  masks: Uint8Array[];
}

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
  /** The samples at source resolution when loaded with `keepSource`, else null. */
  sourceRes: SourceRes | null;
  /**
   * Things a user should know before training on this data (e.g. "3 of 200 masks are empty",
   * a cache that could not be written); the trainer prints them. Empty when all is well.
   */
  warnings: string[];
  /** Whether this load came from the on-disk cache (no decoding). */
  fromCache: boolean;
  /** The cache file of the S x S samples, used or written; null when caching is off (or synthetic). */
  cacheFile: string | null;
}

export interface LoadOptions {
  /** Side S of the stored images (every sample is resized to S x S). */
  imageSize: number;
  /**
   * Also keep the samples at source resolution (Dataset.sourceRes), for augmentation that crops
   * from them (AugmentConfig.cropFrom 'source', see needsSourceRes). true: longer side capped at
   * defaultSourceMaxSide(S); { maxSide: n }: capped at n; { maxSide: null }: the originals.
   * Synthetic datasets have no originals: their sources are generated square, maxSide on a side
   * when it is given as a number, else 2 S.
   */
  keepSource?: boolean | { maxSide: number | null };
  /**
   * Folder for decoded-dataset caches. Default dataCacheDir() (MELSEG_CACHE_DIR, else the user's
   * cache folder, src/util/paths.ts); null disables. Synthetic datasets are generated each time
   * (as fast as reading a cache), never cached.
   */
  cacheDir?: string | null;
  /** Called after each decoded sample (and once with (N, N) on a cache hit). */
  onProgress?: (done: number, total: number) => void;
  /** Files decoded at once (JPEG decoding runs in libuv's thread pool). Default 4. */
  concurrency?: number;
}

/**
 * The default cap on the longer side of the source-resolution samples: 4 S. Measured with
 * bench/augment.ts (README, Data): the smallest crop (64% of the longer side) still reads >= 2.5
 * source pixels per output pixel; the study preset costs ~2.4x less CPU per PH2 sample than at the
 * original 765 x 560; ISIC 2017's 2000 photos take <= 1.5 GiB at S = 128 instead of ~3.4 GiB at
 * 6 S (and tens of GiB as originals). Exact replication of the study on PH2 (its blur scale and
 * the aliasing of its antialias=False crop) needs the originals: keepSource { maxSide: null }.
 */
export function defaultSourceMaxSide(imageSize: number): number {
  return 4 * imageSize;
}

export function defaultCacheDir(): string {
  return dataCacheDir();
}

/** Samples whose mask has no lesion pixel, or only lesion pixels, as warnings (none when all is well). */
export function maskWarnings(ids: readonly string[], lesionFractions: readonly number[], root: string): string[] {
  const n = ids.length;
  const empty = ids.filter((_, i) => lesionFractions[i] === 0);
  const full = ids.filter((_, i) => lesionFractions[i] === 1);
  const list = (a: string[]): string => a.slice(0, 5).join(', ') + (a.length > 5 ? `, ... (${a.length} in all)` : '');
  const out: string[] = [];
  if (empty.length === n) {
    out.push(
      `Every mask of ${root} is empty (${n} of ${n} have no lesion pixel): a network trained on them learns to ` +
        'predict background everywhere. Check that the masks show the lesion in white (or 1) on black; ' +
        '16-bit masks and masks drawn in the alpha channel are read correctly, so these files hold no lesion.',
    );
  } else if (empty.length > 0) {
    out.push(`${empty.length} of ${n} masks are empty (no lesion pixel): ${list(empty)}. Check them if every image should show a lesion.`);
  }
  if (full.length > 0) {
    out.push(
      `${full.length} of ${n} masks are lesion everywhere: ${list(full)}. Such a mask is usually inverted ` +
        '(lesion black on white) or blank white; check them.',
    );
  }
  return out;
}

function lesionFraction(m: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < m.length; i++) s += m[i];
  return s / m.length;
}

function sharedCopy(a: Uint8Array): Uint8Array {
  const s = new Uint8Array(new SharedArrayBuffer(a.length));
  s.set(a);
  return s;
}

/** The source-resolution sample: the original, or scaled to fit within maxSide. */
function capped(img: Image, mask: Mask, maxSide: number | null): { image: Uint8Array; mask: Uint8Array; size: [number, number] } {
  const [w, h] = maxSide === null ? [img.width, img.height] : fitWithin(img.width, img.height, maxSide);
  if (w === img.width && h === img.height) return { image: sharedCopy(img.data), mask: sharedCopy(mask.data), size: [w, h] };
  return { image: sharedCopy(resizeBilinear(img, w, h).data), mask: sharedCopy(resizeNearest(mask, w, h).data), size: [w, h] };
}

async function decodePair(p: SamplePair): Promise<{ image: Image; mask: Mask }> {
  const [image, mask] = await Promise.all([decodeImage(p.image), decodeMask(p.mask)]);
  if (image.width !== mask.width || image.height !== mask.height) {
    throw new Error(
      `Mask ${p.mask} is ${mask.width}x${mask.height} but its image ${p.image} is ${image.width}x${image.height}; ` +
        'expected the same size. Fix: resize the mask to its image with nearest-neighbour interpolation, ' +
        'or check that the two files belong together.',
    );
  }
  return { image, mask };
}

function resolveKeep(keep: LoadOptions['keepSource'], S: number): { maxSide: number | null } | null {
  if (keep === undefined || keep === false) return null;
  if (keep === true) return { maxSide: defaultSourceMaxSide(S) };
  const m = keep.maxSide;
  if (m !== null && !(Number.isInteger(m) && m >= 1)) {
    throw new Error(`loadDataset: keepSource.maxSide must be a positive integer or null (the originals), found ${m}`);
  }
  return { maxSide: m };
}

function loadSynthetic(root: string, n: number, S: number, keep: { maxSide: number | null } | null, opts: LoadOptions): Dataset {
  const { ids, images, masks } = generateSynthetic(n, S, opts.onProgress);
  let sourceRes: SourceRes | null = null;
  if (keep) {
    // Generating costs ~1 us a pixel: 2 S (not the 4 S default cap) unless a cap is given.
    const explicit = typeof opts.keepSource === 'object' ? opts.keepSource.maxSide : null;
    const side = explicit ?? 2 * S;
    const big = generateSynthetic(n, side);
    const px = side * side;
    sourceRes = {
      maxSide: side,
      sizes: ids.map(() => [side, side]),
      images: ids.map((_, i) => big.images.subarray(i * px * 3, (i + 1) * px * 3)),
      masks: ids.map((_, i) => big.masks.subarray(i * px, (i + 1) * px)),
    };
  }
  const plane = S * S;
  const fractions = ids.map((_, i) => lesionFraction(masks.subarray(i * plane, (i + 1) * plane)));
  return {
    layout: 'synthetic',
    root,
    ids,
    size: S,
    images,
    masks,
    origSizes: ids.map(() => [S, S]),
    sources: ids.map(() => ''),
    sourceRes,
    warnings: maskWarnings(ids, fractions, root),
    fromCache: false,
    cacheFile: null,
  };
}

interface SizedHeader {
  layout: Layout;
  root: string;
  ids: string[];
  size: number;
  origSizes: [number, number][];
  sources: string[];
  /** Lesion pixels / all pixels of each mask, at source resolution (for the warnings). */
  lesionFractions: number[];
}

interface SourceHeader {
  ids: string[];
  maxSide: number | null;
  sizes: [number, number][];
}

/** The ids `loadDataset(spec)` gives, from the file names alone (nothing decoded): what a split is drawn from. */
export function listIds(spec: string): string[] {
  const d = detectLayout(spec);
  return d.layout === 'synthetic' ? syntheticIds(d.count!) : listPairs(d).map((p) => p.id);
}

/** One cache file of a folder dataset: its name, its key, and what it held when that key matched. */
interface CacheSlot<H> {
  file: string;
  key: string;
  hit: { header: H; blocks: Uint8Array[] } | null;
}

/**
 * The two caches of a folder dataset, keyed by the sources' sizes and times and the JPEG decoder: the
 * samples at S (sized) and, with keepSource, the capped originals (source). A hit of the wrong shape
 * counts as a miss. Both null without a cache folder.
 */
async function lookUpCaches(pairs: SamplePair[], layout: Layout, S: number, keep: { maxSide: number | null } | null, dir: string | null) {
  let sized: CacheSlot<SizedHeader> | null = null;
  let source: CacheSlot<SourceHeader> | null = null;
  if (dir === null) return { sized, source };
  const n = pairs.length;
  const stats = await statSources(pairs.flatMap((p) => [p.image, p.mask]));
  const decoder = jpegDecoderId();
  const key = cacheKey({ layout, imageSize: S, decoder }, stats);
  const file = cacheFile(dir, `${layout}-${S}`, key);
  const hit = await readCache<SizedHeader>(file, key);
  const ok = hit && hit.header.ids.length === n && hit.blocks.length === 2 && hit.blocks[0].length === n * S * S * 3;
  sized = { file, key, hit: ok ? hit : null };
  if (keep) {
    const srcKey = cacheKey({ layout, sourceMaxSide: keep.maxSide, decoder }, stats);
    const srcFile = cacheFile(dir, `${layout}-src${keep.maxSide ?? 'orig'}`, srcKey);
    const srcHit = await readCache<SourceHeader>(srcFile, srcKey);
    const srcOk = srcHit && srcHit.header.ids.length === n && srcHit.blocks.length === 2 * n;
    source = { file: srcFile, key: srcKey, hit: srcOk ? srcHit : null };
  }
  return { sized, source };
}

interface Decoded {
  images: Uint8Array;
  masks: Uint8Array;
  origSizes: [number, number][];
  lesionFractions: number[];
  /** With keepSource: each sample capped to maxSide. */
  src: { sizes: [number, number][]; images: Uint8Array[]; masks: Uint8Array[] } | null;
}

/** Every pair decoded and resized to S (and capped, with keepSource) in a few lanes; the first error stops them all. */
async function decodeAll(pairs: SamplePair[], S: number, keep: { maxSide: number | null } | null, opts: LoadOptions): Promise<Decoded> {
  const n = pairs.length;
  const plane = S * S;
  const images = new Uint8Array(new SharedArrayBuffer(n * plane * 3));
  const masks = new Uint8Array(new SharedArrayBuffer(n * plane));
  const origSizes: [number, number][] = new Array(n);
  const lesionFractions: number[] = new Array(n);
  const src = keep ? { sizes: new Array<[number, number]>(n), images: new Array<Uint8Array>(n), masks: new Array<Uint8Array>(n) } : null;
  let next = 0;
  let done = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (next < n && !failed) {
      const i = next++;
      let d: { image: Image; mask: Mask };
      try {
        d = await decodePair(pairs[i]);
      } catch (e) {
        failed = true; // stop the other lanes: the first error is the one reported
        throw e;
      }
      images.set(resizeBilinear(d.image, S).data, i * plane * 3);
      masks.set(resizeNearest(d.mask, S).data, i * plane);
      origSizes[i] = [d.image.width, d.image.height];
      lesionFractions[i] = lesionFraction(d.mask.data);
      if (src && keep) {
        const c = capped(d.image, d.mask, keep.maxSide);
        src.sizes[i] = c.size;
        src.images[i] = c.image;
        src.masks[i] = c.mask;
      }
      opts.onProgress?.(++done, n);
    }
  };
  const lanes = Math.max(1, Math.min(opts.concurrency ?? 4, n));
  await Promise.all(Array.from({ length: lanes }, lane));
  return { images, masks, origSizes, lesionFractions, src };
}

/**
 * Writes a cache file; false (and one warning in `warnings`) when it cannot: the data is decoded and
 * usable, only the next run's speed-up is lost.
 */
async function savedToCache(slot: CacheSlot<unknown>, header: object, blocks: Uint8Array[], warnings: string[]): Promise<boolean> {
  try {
    await writeCache(slot.file, slot.key, header, blocks);
    return true;
  } catch (e) {
    if (warnings.length === 0) warnings.push(
      `The decoded dataset could not be cached: ${(e as Error).message} ` +
        'Fix: set MELSEG_CACHE_DIR to a writable folder (the data loaded; only the next start is slower).',
    );
    return false;
  }
}

/**
 * Loads `spec` (a dataset folder, or `synthetic[:N]`) at imageSize x imageSize: from the caches when
 * both hold it, else decoded (and then cached).
 * Throws with the offending file's path for missing, unreadable, mismatched or non-binary files.
 */
export async function loadDataset(spec: string, opts: LoadOptions): Promise<Dataset> {
  const S = opts.imageSize;
  if (!Number.isInteger(S) || S < 1) throw new Error(`loadDataset: imageSize must be a positive integer, found ${S}`);
  const keep = resolveKeep(opts.keepSource, S);
  const detected = detectLayout(spec);
  if (detected.layout === 'synthetic') return loadSynthetic(detected.root, detected.count!, S, keep, opts);

  const pairs = listPairs(detected);
  const n = pairs.length;
  const layout = detected.layout;
  const { sized, source } = await lookUpCaches(pairs, layout, S, keep, opts.cacheDir === undefined ? defaultCacheDir() : opts.cacheDir);
  const sizedHit = sized?.hit ?? null;
  const sourceHit = source?.hit ?? null;
  if (sizedHit && (!keep || sourceHit)) {
    opts.onProgress?.(n, n);
    const [images, masks] = sizedHit.blocks as [Uint8Array, Uint8Array];
    const sourceRes = keep && sourceHit ? { maxSide: sourceHit.header.maxSide, sizes: sourceHit.header.sizes, images: sourceHit.blocks.slice(0, n), masks: sourceHit.blocks.slice(n) } : null;
    return datasetOf(sizedHit.header, { images, masks, sourceRes, warnings: [], fromCache: true, cacheFile: sized?.file ?? null });
  }

  const d = await decodeAll(pairs, S, keep, opts);
  const header: SizedHeader = { layout, root: detected.root, ids: pairs.map((p) => p.id), size: S, origSizes: d.origSizes, sources: pairs.map((p) => p.image), lesionFractions: d.lesionFractions };
  const warnings: string[] = [];
  let cacheFile = sized?.file ?? null;
  if (sized && !sized.hit && !(await savedToCache(sized, header, [d.images, d.masks], warnings))) cacheFile = null;
  let sourceRes: SourceRes | null = null;
  if (d.src && keep) {
    sourceRes = { maxSide: keep.maxSide, ...d.src };
    if (source && !source.hit) await savedToCache(source, { ids: header.ids, maxSide: keep.maxSide, sizes: d.src.sizes } satisfies SourceHeader, [...d.src.images, ...d.src.masks], warnings);
  }
  return datasetOf(header, { images: d.images, masks: d.masks, sourceRes, warnings, fromCache: false, cacheFile });
}

function datasetOf(h: SizedHeader, o: { images: Uint8Array; masks: Uint8Array; sourceRes: SourceRes | null; warnings: string[]; fromCache: boolean; cacheFile: string | null }): Dataset {
  return {
    layout: h.layout,
    root: h.root,
    ids: h.ids,
    size: h.size,
    images: o.images,
    masks: o.masks,
    origSizes: h.origSizes,
    sources: h.sources,
    sourceRes: o.sourceRes,
    warnings: [...maskWarnings(h.ids, h.lesionFractions, h.root), ...o.warnings],
    fromCache: o.fromCache,
    cacheFile: o.cacheFile,
  };
}
