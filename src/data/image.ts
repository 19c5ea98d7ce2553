/**
 * Images and masks as plain typed arrays, decoded with jimp's format decoders (JPEG, PNG, BMP incl.
 * 1-bit and top-down, GIF, TIFF) and resized to the training size.
 */
import { promises as fsp } from 'fs';
import { Jimp } from 'jimp';
import { resampleBilinear, resampleNearest } from './resample';

/** An 8-bit image, row-major HWC: pixel (x, y), channel c is data[(y * width + x) * channels + c]. */
export interface Image {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/** A float RGB image in [0, 1], row-major HWC (what augmentation works on, before normalisation). */
export interface FloatImage {
  data: Float32Array;
  width: number;
  height: number;
  channels: number;
}

/** A binary mask, row-major: data[y * width + x] is 1 inside the lesion, 0 outside. */
export interface Mask {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * Tolerance for masks that are not exactly two-valued (JPEG-compressed or anti-aliased masks).
 * Let m be the largest grey level. Levels within NEAR of 0 or of m count as background/lesion
 * (JPEG ringing); levels in between are "intermediate" and may cover at most MAX_INTERMEDIATE of
 * the pixels (anti-aliased edges: a lesion's rim is ~0.5% of a 600x450 image). Beyond that the
 * file is not a binary mask (a photo, a 3-class label map, a heat map) and decoding fails.
 */
export const MASK_TOLERANCE = { NEAR: 0.1, MAX_INTERMEDIATE: 0.02 } as const;

/**
 * The container format from the file's magic bytes. Jimp's own detection (Jimp.fromBuffer) loads
 * the ESM-only `file-type` package with a dynamic import(), which fails inside Jest's CommonJS
 * sandbox; sniffing the five formats ourselves and calling jimp's decoders directly works
 * everywhere. EXIF orientation is not applied (as PIL's Image.open in the study's pipeline).
 */
function sniffMime(b: Buffer): string | null {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 8 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a) return 'image/png';
  if (b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d) return 'image/bmp';
  const head = b.toString('latin1', 0, 4);
  if (head === 'GIF8') return 'image/gif';
  if (head === 'II*\0' || head === 'MM\0*') return 'image/tiff';
  return null;
}

interface RawBitmap {
  data: Buffer | Uint8Array;
  width: number;
  height: number;
}

type Decoder = (bytes: Buffer) => RawBitmap | Promise<RawBitmap>;

let decoders: Map<string, Decoder> | null = null;

/** jimp's registered decoders by MIME type (the first registration of a type wins). */
function decoderFor(mime: string): Decoder | undefined {
  if (!decoders) {
    decoders = new Map();
    const formats = new Jimp({ width: 1, height: 1 }).formats as unknown as { mime: string; decode?: Decoder }[];
    for (const f of formats) if (f.decode && !decoders.has(f.mime)) decoders.set(f.mime, f.decode);
  }
  return decoders.get(mime);
}

async function decodeRgba(path: string, what: string): Promise<{ data: Uint8Array; width: number; height: number }> {
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(path);
  } catch (e) {
    throw new Error(`Cannot read ${what} ${path}: ${(e as Error).message}. Check that the file exists and is readable.`);
  }
  const fix = 'Expected a JPEG, PNG, BMP, GIF or TIFF file; re-export it in one of these formats or remove it from the dataset.';
  const mime = sniffMime(bytes);
  const decode = mime ? decoderFor(mime) : undefined;
  if (!decode) {
    const magic = bytes.subarray(0, 8).toString('hex');
    throw new Error(`Cannot decode ${what} ${path}: unknown file format (first bytes ${magic || 'none: empty file'}). ${fix}`);
  }
  let bmp: RawBitmap;
  try {
    bmp = await decode(bytes);
  } catch (e) {
    throw new Error(`Cannot decode ${what} ${path}: ${mime} decoder failed: ${(e as Error).message}. ${fix}`);
  }
  const { data, width, height } = bmp;
  if (!(width > 0 && height > 0) || data.length < width * height * 4) {
    throw new Error(`Cannot decode ${what} ${path}: ${mime} decoder returned a ${width}x${height} image with ${data.length} bytes. ${fix}`);
  }
  return { data: new Uint8Array(data.buffer, data.byteOffset, width * height * 4), width, height };
}

/** Decodes an image file to 8-bit RGB (alpha dropped; greyscale files give R = G = B). */
export async function decodeImage(path: string): Promise<Image> {
  const { data: rgba, width, height } = await decodeRgba(path, 'image');
  const n = width * height;
  const data = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    data[i * 3] = rgba[i * 4]!;
    data[i * 3 + 1] = rgba[i * 4 + 1]!;
    data[i * 3 + 2] = rgba[i * 4 + 2]!;
  }
  return { data, width, height, channels: 3 };
}

/**
 * Decodes a lesion mask to 0/1. Grey level g = round((R + G + B) / 3); with m the largest level,
 * lesion = 2g > m (binarise at half the maximum), so 0/255, 0/1 and any {0, m} mask work.
 * A mask with too many intermediate levels (see MASK_TOLERANCE) is rejected.
 */
export async function decodeMask(path: string): Promise<Mask> {
  const { data: rgba, width, height } = await decodeRgba(path, 'mask');
  const n = width * height;
  const grey = new Uint8Array(n);
  const hist = new Uint32Array(256);
  let max = 0;
  for (let i = 0; i < n; i++) {
    const g = Math.round((rgba[i * 4]! + rgba[i * 4 + 1]! + rgba[i * 4 + 2]!) / 3);
    grey[i] = g;
    hist[g]!++;
    if (g > max) max = g;
  }
  let levels = 0;
  for (let g = 0; g < 256; g++) if (hist[g]! > 0) levels++;
  if (levels > 2) {
    const lo = MASK_TOLERANCE.NEAR * max;
    const hi = (1 - MASK_TOLERANCE.NEAR) * max;
    let intermediate = 0;
    for (let g = 0; g <= max; g++) if (g > lo && g < hi) intermediate += hist[g]!;
    if (intermediate > MASK_TOLERANCE.MAX_INTERMEDIATE * n) {
      const pct = ((100 * intermediate) / n).toFixed(1);
      throw new Error(
        `Mask ${path} is not binary: ${levels} distinct grey levels, ${pct}% of pixels lie strictly between ` +
          `${Math.floor(lo)} and ${Math.ceil(hi)} (max ${max}); expected a two-valued mask (0/255 or 0/1, ` +
          `at most ${MASK_TOLERANCE.MAX_INTERMEDIATE * 100}% anti-aliased pixels). ` +
          'Fix: threshold the mask and save it as PNG, or check that this file really is a lesion mask.',
      );
    }
  }
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = 2 * grey[i]! > max ? 1 : 0;
  return { data, width, height };
}

/**
 * Resizes to size x size with antialiased bilinear filtering (align_corners=false; identical to
 * PyTorch's bilinear when enlarging, PIL-like when shrinking), rounded to 8 bits. Aspect ratio is
 * not kept (the whole image is squashed, as the study's preprocessing did).
 */
export function resizeBilinear(img: Image, size: number): Image {
  const f = resampleBilinear(img.data, img.width, img.height, img.channels, { x: 0, y: 0, w: img.width, h: img.height }, size, size);
  const data = new Uint8Array(f.length);
  for (let i = 0; i < f.length; i++) data[i] = Math.min(255, Math.max(0, Math.round(f[i]!)));
  return { data, width: size, height: size, channels: img.channels };
}

/**
 * Resizes a mask to size x size by nearest neighbour (pixel centres, 'nearest-exact'). A 0/1 mask
 * stays 0/1; any other input is binarised at 0.5 afterwards.
 */
export function resizeNearest(mask: Mask, size: number): Mask {
  const out = resampleNearest(mask.data, mask.width, mask.height, 1, { x: 0, y: 0, w: mask.width, h: mask.height }, size, size);
  for (let i = 0; i < out.length; i++) out[i] = out[i]! >= 0.5 ? 1 : 0;
  return { data: out, width: size, height: size };
}
