/**
 * Images and masks as plain typed arrays (decoded by decode.ts) and their resizing to the training
 * size.
 */
import { decodeFile, type Raster } from './decode';
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
 * Let m be the largest level. Levels within NEAR of 0 or of m count as background/lesion
 * (JPEG ringing); levels in between are "intermediate" and may cover at most MAX_INTERMEDIATE of
 * the pixels (anti-aliased edges: a lesion's rim is ~0.5% of a 600x450 image). Beyond that the
 * file is not a binary mask (a photo, a 3-class label map, a heat map) and decoding fails.
 * MAX_INTERMEDIATE also bounds how far a mask's colour and alpha shapes may disagree.
 */
export const MASK_TOLERANCE = { NEAR: 0.1, MAX_INTERMEDIATE: 0.02 } as const;

/** Decodes an image file to 8-bit RGB (alpha dropped; greyscale files give R = G = B). */
export async function decodeImage(path: string): Promise<Image> {
  const r = await decodeFile(path, 'image');
  const n = r.width * r.height;
  const C = r.channels;
  const data = new Uint8Array(n * 3);
  if (C === 3) {
    data.set(r.data);
  } else {
    const grey = C < 3;
    for (let i = 0; i < n; i++) {
      data[i * 3] = r.data[i * C];
      data[i * 3 + 1] = r.data[i * C + (grey ? 0 : 1)];
      data[i * 3 + 2] = r.data[i * C + (grey ? 0 : 2)];
    }
  }
  return { data, width: r.width, height: r.height, channels: 3 };
}

/**
 * Per pixel: grey level g = round((R + G + B) / 3) (or the grey sample) and alpha a, both as
 * stored (up to 65535 for 16-bit PNGs).
 */
function greyAndAlpha(r: Raster): { grey: Uint16Array; alpha: Uint16Array | null } {
  const n = r.width * r.height;
  const C = r.channels;
  const grey = new Uint16Array(n);
  const hasAlpha = C === 2 || C === 4;
  const alpha = hasAlpha ? new Uint16Array(n) : null;
  for (let i = 0; i < n; i++) {
    const o = i * C;
    grey[i] = C >= 3 ? Math.round((r.data[o] + r.data[o + 1] + r.data[o + 2]) / 3) : r.data[o];
    if (alpha) alpha[i] = r.data[o + C - 1];
  }
  return { grey, alpha };
}

function isConstant(a: Uint16Array): boolean {
  const v = a[0];
  for (let i = 1; i < a.length; i++) if (a[i] !== v) return false;
  return true;
}

/**
 * Binarises levels at half their maximum m (lesion = 2 v > m, so 0/255, 0/1, 0/65535 and any
 * {0, m} mask work), rejecting level maps with too many intermediate levels (MASK_TOLERANCE).
 * `channel` names the channel in the error.
 */
function binarise(levels: Uint16Array, path: string, channel: string): Uint8Array {
  const n = levels.length;
  let max = 0;
  for (let i = 0; i < n; i++) if (levels[i] > max) max = levels[i];
  const hist = new Uint32Array(max + 1);
  for (let i = 0; i < n; i++) hist[levels[i]]++;
  let distinct = 0;
  for (let g = 0; g <= max; g++) if (hist[g] > 0) distinct++;
  if (distinct > 2) {
    const lo = MASK_TOLERANCE.NEAR * max;
    const hi = (1 - MASK_TOLERANCE.NEAR) * max;
    let intermediate = 0;
    for (let g = 0; g <= max; g++) if (g > lo && g < hi) intermediate += hist[g];
    if (intermediate > MASK_TOLERANCE.MAX_INTERMEDIATE * n) {
      const pct = ((100 * intermediate) / n).toFixed(1);
      throw new Error(
        `Mask ${path} is not binary: ${distinct} distinct ${channel} levels, ${pct}% of pixels lie strictly between ` +
          `${Math.floor(lo)} and ${Math.ceil(hi)} (max ${max}); expected a two-valued mask (0/255 or 0/1, ` +
          `at most ${MASK_TOLERANCE.MAX_INTERMEDIATE * 100}% anti-aliased pixels). ` +
          'Fix: threshold the mask and save it as PNG, or check that this file really is a lesion mask.',
      );
    }
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = 2 * levels[i] > max ? 1 : 0;
  return out;
}

/**
 * Decodes a lesion mask to 0/1, from the grey level of its colour channels, or from its alpha
 * channel when the colour is the same everywhere and only the alpha (transparency) carries the
 * shape (a mask painted as opaque lesion on a transparent background). 16-bit PNGs are read at
 * their stored values. A mask whose colour and alpha both vary but draw different shapes is
 * rejected, as is one with too many intermediate levels (see MASK_TOLERANCE).
 */
export async function decodeMask(path: string): Promise<Mask> {
  const r = await decodeFile(path, 'mask', true);
  const { width, height } = r;
  const { grey, alpha } = greyAndAlpha(r);
  const alphaVaries = alpha !== null && !isConstant(alpha);
  if (alphaVaries && isConstant(grey)) return { data: binarise(alpha, path, 'alpha'), width, height };
  const data = binarise(grey, path, 'grey');
  if (alphaVaries) {
    const a = binarise(alpha, path, 'alpha');
    let differ = 0;
    for (let i = 0; i < data.length; i++) if (a[i] !== data[i]) differ++;
    if (differ > MASK_TOLERANCE.MAX_INTERMEDIATE * data.length) {
      throw new Error(
        `Mask ${path} draws different shapes in its colour and in its alpha (transparency) channel ` +
          `(${((100 * differ) / data.length).toFixed(1)}% of pixels disagree); expected the lesion in the colour ` +
          '(white or 1 on black) or only in the alpha channel. Fix: flatten it onto black and drop the alpha, ' +
          `e.g. \`convert '${path}' -background black -alpha remove -alpha off fixed.png\` (ImageMagick), and use fixed.png.`,
      );
    }
  }
  return { data, width, height };
}

/**
 * Resizes to size x size (or width x height) with antialiased bilinear filtering
 * (align_corners=false; identical to PyTorch's bilinear when enlarging, PIL-like when shrinking),
 * rounded to 8 bits. With one size the aspect ratio is not kept (the whole image is squashed, as
 * the study's preprocessing did).
 */
export function resizeBilinear(img: Image, size: number, height = size): Image {
  const f = resampleBilinear(img.data, img.width, img.height, img.channels, { x: 0, y: 0, w: img.width, h: img.height }, size, height);
  const data = new Uint8Array(f.length);
  for (let i = 0; i < f.length; i++) data[i] = Math.min(255, Math.max(0, Math.round(f[i])));
  return { data, width: size, height, channels: img.channels };
}

/**
 * Resizes a mask to size x size (or width x height) by nearest neighbour (pixel centres,
 * 'nearest-exact'). A 0/1 mask stays 0/1; any other input is binarised at 0.5 afterwards.
 */
export function resizeNearest(mask: Mask, size: number, height = size): Mask {
  const out = resampleNearest(mask.data, mask.width, mask.height, 1, { x: 0, y: 0, w: mask.width, h: mask.height }, size, height);
  for (let i = 0; i < out.length; i++) out[i] = out[i] >= 0.5 ? 1 : 0;
  return { data: out, width: size, height };
}

/**
 * The size of a width x height image scaled down (never up) so that its longer side is at most
 * maxSide, keeping the aspect ratio: scale = min(1, maxSide / max(w, h)), sides rounded, at least 1.
 */
export function fitWithin(width: number, height: number, maxSide: number): [number, number] {
  const scale = Math.min(1, maxSide / Math.max(width, height));
  return [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))];
}
