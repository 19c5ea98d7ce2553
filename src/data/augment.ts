/**
 * The study's training augmentation, torchvision-v2 style: all random parameters of a sample are
 * drawn once (`drawParams`), then applied to the image and its mask alike (`applyAugment`):
 * geometry to both (bilinear for the image, nearest for the mask), photometry to the image only.
 *
 * Order, as in the study's transforms list:
 *   RandomResizedCrop(S, scale=(0.75, 1), ratio=(3/4, 4/3)) -> RandomHorizontalFlip(0.5)
 *   -> RandomVerticalFlip(0.5) -> GaussianBlur((5, 9), sigma=(0.1, 1)) -> RandomGrayscale(0.1)
 *   -> RandomAutocontrast(0.5) -> ColorJitter(0.1, 0.1, 0.1, 0.1) -> Normalize(ImageNet)
 * GaussianBlur was in the list without RandomApply, so it is applied to every sample (blurP = 1);
 * with sigma <= 1 it is a mild smoothing. Computation is in float32 without intermediate rounding to
 * 8 bits (torchvision on float tensors does the same).
 */
import type { FloatImage, Image, Mask } from './image';
import { resampleBilinear, resampleNearest, type Box } from './resample';
import {
  adjustBrightness,
  adjustContrast,
  adjustHue,
  adjustSaturation,
  autocontrast,
  gaussianBlur,
  greyscale,
} from './photometric';
import type { Rng } from './rng';

export interface AugmentConfig {
  /** RandomResizedCrop: fraction of the area kept, and aspect ratio w/h, each drawn per sample. */
  cropScale: [number, number];
  cropRatio: [number, number];
  hflipP: number;
  vflipP: number;
  /** Gaussian kernel [width, height] in pixels (odd), sigma range, probability of blurring. */
  blurKernel: [number, number];
  blurSigma: [number, number];
  blurP: number;
  greyscaleP: number;
  autocontrastP: number;
  /** ColorJitter strengths: factors uniform in [1 - s, 1 + s] (hue: shift uniform in [-s, s] turns). */
  jitter: { brightness: number; contrast: number; saturation: number; hue: number };
}

export const STUDY_AUGMENT: Readonly<AugmentConfig> = Object.freeze({
  cropScale: [0.75, 1],
  cropRatio: [3 / 4, 4 / 3],
  hflipP: 0.5,
  vflipP: 0.5,
  blurKernel: [5, 9],
  blurSigma: [0.1, 1],
  blurP: 1,
  greyscaleP: 0.1,
  autocontrastP: 0.5,
  jitter: { brightness: 0.1, contrast: 0.1, saturation: 0.1, hue: 0.1 },
}) as AugmentConfig;

/** Geometry only (crop + flips), no photometric change: for tests and for ablations. */
export const GEOMETRY_ONLY: Readonly<AugmentConfig> = Object.freeze({
  ...STUDY_AUGMENT,
  blurP: 0,
  greyscaleP: 0,
  autocontrastP: 0,
  jitter: { brightness: 0, contrast: 0, saturation: 0, hue: 0 },
}) as AugmentConfig;

/** Every random choice for one sample; plain JSON, so it can be logged or sent to a worker. */
export interface AugmentParams {
  /** Side of the (square) source and output image. */
  size: number;
  crop: Box;
  flipX: boolean;
  flipY: boolean;
  blur: { kx: number; ky: number; sigma: number } | null;
  greyscale: boolean;
  autocontrast: boolean;
  /** Jitter ops in application order (0 brightness, 1 contrast, 2 saturation, 3 hue); factors 1 / shift 0 = off. */
  jitter: { order: number[]; brightness: number; contrast: number; saturation: number; hue: number };
}

/**
 * torchvision RandomResizedCrop.get_params on a size x size source: up to 10 tries of
 * area = A * U(scale), ratio = exp(U(log ratio)), w = round(sqrt(area * ratio)), h = round(sqrt(area / ratio));
 * the first that fits is placed uniformly. Otherwise a centre crop clamped to the ratio range.
 */
function drawCrop(rng: Rng, size: number, scale: [number, number], ratio: [number, number]): Box {
  const area = size * size;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logLo, logHi));
    const w = Math.round(Math.sqrt(target * aspect));
    const h = Math.round(Math.sqrt(target / aspect));
    if (w > 0 && w <= size && h > 0 && h <= size) {
      const y = rng.int(0, size - h + 1);
      const x = rng.int(0, size - w + 1);
      return { x, y, w, h };
    }
  }
  // Square source: its ratio 1 is inside any range containing 1; otherwise clamp to the range.
  let w = size;
  let h = size;
  if (1 < ratio[0]) h = Math.round(w / ratio[0]);
  else if (1 > ratio[1]) w = Math.round(h * ratio[1]);
  return { x: (size - w) >> 1, y: (size - h) >> 1, w, h };
}

/** Draws all random parameters of one sample. The number of draws is fixed except inside the crop retry loop. */
export function drawParams(rng: Rng, size: number, config: AugmentConfig = STUDY_AUGMENT): AugmentParams {
  const crop = drawCrop(rng, size, config.cropScale, config.cropRatio);
  const flipX = rng.bernoulli(config.hflipP);
  const flipY = rng.bernoulli(config.vflipP);
  const doBlur = rng.bernoulli(config.blurP);
  const sigma = rng.uniform(config.blurSigma[0], config.blurSigma[1]);
  const doGrey = rng.bernoulli(config.greyscaleP);
  const doAuto = rng.bernoulli(config.autocontrastP);
  const j = config.jitter;
  const order = rng.permutation(4);
  const brightness = rng.uniform(1 - j.brightness, 1 + j.brightness);
  const contrast = rng.uniform(1 - j.contrast, 1 + j.contrast);
  const saturation = rng.uniform(1 - j.saturation, 1 + j.saturation);
  const hue = rng.uniform(-j.hue, j.hue);
  return {
    size,
    crop,
    flipX,
    flipY,
    blur: doBlur ? { kx: config.blurKernel[0], ky: config.blurKernel[1], sigma } : null,
    greyscale: doGrey,
    autocontrast: doAuto,
    jitter: { order, brightness, contrast, saturation, hue },
  };
}

/** The parameters that leave a sample unchanged (evaluation). */
export function identityParams(size: number): AugmentParams {
  return {
    size,
    crop: { x: 0, y: 0, w: size, h: size },
    flipX: false,
    flipY: false,
    blur: null,
    greyscale: false,
    autocontrast: false,
    jitter: { order: [0, 1, 2, 3], brightness: 1, contrast: 1, saturation: 1, hue: 0 },
  };
}

function checkPair(params: AugmentParams, image: Image, mask: Mask): void {
  const S = params.size;
  if (image.width !== S || image.height !== S || image.channels !== 3 || mask.width !== S || mask.height !== S) {
    throw new Error(
      `applyAugment: expected a ${S}x${S} RGB image and a ${S}x${S} mask (params.size = ${S}), ` +
        `found image ${image.width}x${image.height}x${image.channels} and mask ${mask.width}x${mask.height}; ` +
        'draw the parameters with the size of the stored dataset.',
    );
  }
}

/** Applies one sample's parameters: returns the float image in [0, 1] (HWC) and the 0/1 mask. */
export function applyAugment(params: AugmentParams, image: Image, mask: Mask): { image: FloatImage; mask: Mask } {
  checkPair(params, image, mask);
  const S = params.size;
  const geo = { flipX: params.flipX, flipY: params.flipY };
  // Crops enlarge (scale >= 0.75 of the area), so antialiasing would change nothing; off for clarity.
  const f = resampleBilinear(image.data, S, S, 3, params.crop, S, S, { ...geo, antialias: false });
  for (let i = 0; i < f.length; i++) f[i] = f[i]! / 255;
  const m = resampleNearest(mask.data, S, S, 1, params.crop, S, S, geo);

  if (params.blur) gaussianBlur(f, S, S, params.blur.kx, params.blur.ky, params.blur.sigma);
  if (params.greyscale) greyscale(f);
  if (params.autocontrast) autocontrast(f);
  const j = params.jitter;
  for (const op of j.order) {
    if (op === 0 && j.brightness !== 1) adjustBrightness(f, j.brightness);
    else if (op === 1 && j.contrast !== 1) adjustContrast(f, j.contrast);
    else if (op === 2 && j.saturation !== 1) adjustSaturation(f, j.saturation);
    else if (op === 3 && j.hue !== 0) adjustHue(f, j.hue);
  }
  return { image: { data: f, width: S, height: S, channels: 3 }, mask: { data: m, width: S, height: S } };
}

/** ImageNet statistics (torchvision's Normalize in the study). */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/**
 * HWC image -> normalised CHW float32: out[c, y, x] = (v / range - mean[c]) / std[c], where range is
 * 255 for an 8-bit Image and 1 for a FloatImage. Writes at `offset` into `out` when given (batching).
 */
export function toTensor(image: Image | FloatImage, out?: Float32Array, offset = 0): Float32Array {
  const { width: W, height: H } = image;
  if (image.channels !== 3) throw new Error(`toTensor: expected 3 channels, found ${image.channels}`);
  const plane = W * H;
  const dst = out ?? new Float32Array(3 * plane);
  const range = image.data instanceof Float32Array ? 1 : 255;
  for (let c = 0; c < 3; c++) {
    const a = 1 / (range * IMAGENET_STD[c]!);
    const b = -IMAGENET_MEAN[c]! / IMAGENET_STD[c]!;
    const base = offset + c * plane;
    for (let i = 0; i < plane; i++) dst[base + i] = image.data[i * 3 + c]! * a + b;
  }
  return dst;
}

/** 0/1 mask -> float32 [1, H, W] (written at `offset` into `out` when given). */
export function maskToTensor(mask: Mask, out?: Float32Array, offset = 0): Float32Array {
  const dst = out ?? new Float32Array(mask.width * mask.height);
  for (let i = 0; i < mask.data.length; i++) dst[offset + i] = mask.data[i]!;
  return dst;
}
