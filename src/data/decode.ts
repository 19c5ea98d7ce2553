/**
 * File bytes -> pixels, one decoder per container format (chosen by magic bytes, not extension):
 *   JPEG  sharp (libvips with libjpeg-turbo): a 6-megapixel photo in ~0.1 s instead of jimp's ~2 s
 *         (bench/augment.ts --decode). Embedded ICC profiles and EXIF orientation are ignored, as
 *         PIL's Image.open in the study's pipeline ignores them. Falls back to jimp's jpeg-js, with a
 *         warning, where sharp's prebuilt binary cannot load.
 *   PNG   sharp for 1- to 8-bit files (lossless: the same values as any decoder, ~7x faster than
 *         pngjs on a 6 MP mask); pngjs for 16-bit files, whose samples masks need as stored
 *         (`raw`): a 16-bit label PNG holding 0/1 must stay 0/1, while scaling to 8 bits (what jimp
 *         does) turns 1/65535 into 0. Images get 16-bit samples scaled to 8 bits, round(v * 255 / 65535).
 *   BMP, GIF, TIFF  jimp's decoders (PH2's 1-bit and top-down BMPs included).
 * Jimp's own format detection (Jimp.fromBuffer) loads the ESM-only `file-type` package with a
 * dynamic import(), which fails inside Jest's CommonJS sandbox; calling the decoders directly works
 * everywhere.
 */
import { promises as fsp } from 'fs';
import { Jimp } from 'jimp';
import { PNG } from 'pngjs';
import type sharpFn from 'sharp';

/** Decoded pixels, row-major and interleaved; `maxValue` is the value of full intensity / opacity. */
export interface Raster {
  data: Uint8Array | Uint16Array;
  width: number;
  height: number;
  /** 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA. */
  channels: 1 | 2 | 3 | 4;
  /** 255 for 8-bit data; 65535 for 16-bit and 2^d - 1 for d-bit grey PNGs decoded raw. */
  maxValue: number;
  mime: string;
}

export type Mime = 'image/jpeg' | 'image/png' | 'image/bmp' | 'image/gif' | 'image/tiff';

export function sniffMime(b: Uint8Array): Mime | null {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'image/png';
  if (b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d) return 'image/bmp';
  const head = Buffer.from(b.subarray(0, 4)).toString('latin1');
  if (head === 'GIF8') return 'image/gif';
  if (head === 'II*\0' || head === 'MM\0*') return 'image/tiff';
  return null;
}

type JimpDecoder = (bytes: Buffer) => { data: Buffer | Uint8Array; width: number; height: number } | Promise<{ data: Buffer | Uint8Array; width: number; height: number }>;

let jimpDecoders: Map<string, JimpDecoder> | null = null;

/** jimp's registered decoders by MIME type (the first registration of a type wins). */
function jimpDecoder(mime: string): JimpDecoder {
  if (!jimpDecoders) {
    jimpDecoders = new Map();
    const formats = new Jimp({ width: 1, height: 1 }).formats as unknown as { mime: string; decode?: JimpDecoder }[];
    for (const f of formats) if (f.decode && !jimpDecoders.has(f.mime)) jimpDecoders.set(f.mime, f.decode);
  }
  const d = jimpDecoders.get(mime);
  if (!d) throw new Error(`no jimp decoder for ${mime}`);
  return d;
}

async function decodeWithJimp(bytes: Buffer, mime: Mime): Promise<Raster> {
  const { data, width, height } = await jimpDecoder(mime)(bytes);
  if (!(width > 0 && height > 0) || data.length < width * height * 4) {
    throw new Error(`it returned a ${width}x${height} image with ${data.length} bytes`);
  }
  return { data: new Uint8Array(data.buffer, data.byteOffset, width * height * 4), width, height, channels: 4, maxValue: 255, mime };
}

type SharpModule = typeof sharpFn;
let sharpModule: SharpModule | null | undefined;

/** sharp, loaded on first use (it is a native module); null where it cannot load. */
function loadSharp(): SharpModule | null {
  if (sharpModule === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      sharpModule = require('sharp') as SharpModule;
      // One libvips thread per decode: datasets are decoded several files at a time already.
      sharpModule.concurrency(1);
    } catch (e) {
      sharpModule = null;
      process.emitWarning(
        `sharp could not be loaded (${(e as Error).message.split('\n')[0]}); decoding JPEGs with jimp instead, ` +
          'about 15x slower on large photos. Fix: reinstall it with `npm install sharp`.',
        'MelsegDecodeWarning',
      );
    }
  }
  return sharpModule;
}

/**
 * The JPEG decoder in use, part of the dataset cache key: two decoders round the inverse DCT and
 * chroma upsampling differently (up to a few grey levels), so a cache is tied to the one that made it.
 */
export function jpegDecoderId(): string {
  const sharp = loadSharp();
  return sharp ? `sharp ${sharp.versions.sharp} libvips ${sharp.versions.vips}` : 'jimp jpeg-js';
}

/** JPEG, or PNG of at most 8 bits per sample, through sharp; jimp's decoder where sharp is missing. */
async function decodeWithSharp(bytes: Buffer, mime: 'image/jpeg' | 'image/png'): Promise<Raster> {
  const sharp = loadSharp();
  if (!sharp) return mime === 'image/png' ? decodePng(bytes, false) : decodeWithJimp(bytes, mime);
  const { data, info } = await sharp(bytes, { ignoreIcc: true, autoOrient: false, failOn: 'error' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const channels = info.channels as Raster['channels'];
  if (![1, 2, 3, 4].includes(channels) || data.length !== info.width * info.height * channels) {
    throw new Error(`it returned a ${info.width}x${info.height}x${info.channels} image with ${data.length} bytes`);
  }
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels, maxValue: 255, mime };
}

/** Bits per sample of a PNG, from its IHDR chunk (always first: signature, length, 'IHDR', w, h, depth). */
function pngDepth(bytes: Buffer): number {
  return bytes.length > 24 ? bytes[24] : 0;
}

/** PNG through pngjs; `raw` keeps 16-bit and low-bit-depth grey samples as stored. */
function decodePng(bytes: Buffer, raw: boolean): Raster {
  const png = PNG.sync.read(bytes, { skipRescale: raw });
  const { width, height, depth, colorType } = png;
  const data = png.data as unknown as Uint8Array | Uint16Array;
  // Palette entries are 8-bit colours whatever the index depth; other types keep depth bits when raw.
  const maxValue = raw && (colorType as number) !== 3 ? 2 ** depth - 1 : 255;
  const typed = data instanceof Uint16Array ? data : new Uint8Array(data.buffer, data.byteOffset, width * height * 4);
  return { data: typed, width, height, channels: 4, maxValue, mime: 'image/png' };
}

export const FORMAT_FIX = 'Expected a JPEG, PNG, BMP, GIF or TIFF file; re-export it in one of these formats or remove it from the dataset.';

/**
 * Reads and decodes `path`; `what` ('image', 'mask') names it in errors. `raw` (masks): PNG samples
 * as stored (see above); otherwise 8-bit.
 */
export async function decodeFile(path: string, what: string, raw = false): Promise<Raster> {
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(path);
  } catch (e) {
    throw new Error(`Cannot read ${what} ${path}: ${(e as Error).message}. Check that the file exists and is readable.`);
  }
  const mime = sniffMime(bytes);
  if (!mime) {
    const magic = bytes.subarray(0, 8).toString('hex');
    throw new Error(`Cannot decode ${what} ${path}: unknown file format (first bytes ${magic || 'none: empty file'}). ${FORMAT_FIX}`);
  }
  try {
    if (mime === 'image/jpeg') return await decodeWithSharp(bytes, mime);
    if (mime === 'image/png') return pngDepth(bytes) === 16 ? decodePng(bytes, raw) : await decodeWithSharp(bytes, mime);
    return await decodeWithJimp(bytes, mime);
  } catch (e) {
    // libvips repeats its warnings, one per line: one line, each said once
    const said = [...new Set((e as Error).message.split('\n').map((l) => l.trim()).filter(Boolean))].join('; ');
    if (isTruncated(bytes, mime))
      throw new Error(
        `Cannot decode ${what} ${path}: the file is truncated (${bytes.length} bytes, without the ${END_MARK[mime]} that ends every ${mime} file; decoder: ${said}). ` +
          'It was cut off while downloading or copying: copy or download it again, or remove it (and its mask) from the dataset.',
      );
    throw new Error(`Cannot decode ${what} ${path}: the ${mime} data is corrupt (decoder: ${said}). Re-export or download it again, or remove it (and its mask) from the dataset.`);
  }
}

const END_MARK: Partial<Record<Mime, string>> = { 'image/jpeg': 'end-of-image marker FFD9', 'image/png': 'IEND chunk' };

/** A JPEG ends with EOI (FF D9), a PNG with its IEND chunk; some writers pad a few bytes after, hence the tail search. */
function isTruncated(bytes: Buffer, mime: Mime): boolean {
  const tail = bytes.subarray(Math.max(0, bytes.length - 64));
  if (mime === 'image/jpeg') return tail.indexOf(Buffer.from([0xff, 0xd9])) < 0;
  if (mime === 'image/png') return tail.indexOf(Buffer.from('IEND', 'latin1')) < 0;
  return false;
}
