/**
 * Training augmentation, torchvision-v2 style: all random parameters of a sample are drawn once
 * (`drawParams`), then applied to the image and its mask alike (`applyAugment`): geometry to both,
 * photometry to the image only. Computation is in float32 without intermediate rounding to 8 bits
 * (torchvision on float tensors does the same).
 *
 * Two pipelines, chosen by the config:
 *  - the study's (lib/dataset.py), cropFrom 'source' + photometric 'before-crop': on the image at
 *    source resolution GaussianBlur((5, 9), sigma=(0.1, 1)) -> RandomGrayscale(0.1) ->
 *    RandomAutocontrast(0.5) -> ColorJitter(0.1, 0.1, 0.1, 0.1); then RandomResizedCrop(S,
 *    scale=(0.75, 1), ratio=(3/4, 4/3), antialias=False) -> RandomHorizontalFlip(0.5) ->
 *    RandomVerticalFlip(0.5) on image and mask together, the mask bilinear, then > 0.5.
 *    GaussianBlur was in the list without RandomApply, so every sample is blurred (blurP = 1).
 *  - melseg's first one, cropFrom 'cached' + photometric 'after-crop': the same crop and flips taken
 *    from the S x S image in the cache (mask nearest), then the same photometric transforms at S.
 *    Cheaper, but a sigma-1 blur at S = 128 is a sigma-6 blur at PH2's 765 px, and the crop is
 *    upsampled from S instead of sampled from the original.
 * Normalize(ImageNet) follows in toTensor (./tensor.ts).
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
  /** For messages (e.g. 'study', 'cached without blur'). */
  name: string;
  /**
   * Where the crop is taken from: 'cached', the S x S image of the dataset cache; 'source', the
   * sample at source resolution (Dataset.sourceRes: load with keepSource).
   */
  cropFrom: 'cached' | 'source';
  /** Photometric transforms on the crop's input ('before-crop', the study) or on the S x S crop ('after-crop'). */
  photometric: 'before-crop' | 'after-crop';
  /** Mask resampling in the crop: 'nearest', or 'bilinear' then > 0.5 (the study). */
  maskResample: 'nearest' | 'bilinear';
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

/** The study's random parameters, shared by its pipeline and melseg's cached one. */
const STUDY_PARAMS = {
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
} satisfies Omit<AugmentConfig, 'name' | 'cropFrom' | 'photometric' | 'maskResample'>;

function frozen(c: AugmentConfig): Readonly<AugmentConfig> {
  return Object.freeze({ ...c, cropScale: Object.freeze([...c.cropScale]), cropRatio: Object.freeze([...c.cropRatio]), blurKernel: Object.freeze([...c.blurKernel]), blurSigma: Object.freeze([...c.blurSigma]), jitter: Object.freeze({ ...c.jitter }) }) as AugmentConfig;
}

/**
 * The augmentation presets, by the name a user gives (`--augment NAME`):
 *  - study:  the study's pipeline at source resolution (see the top of this file).
 *  - cached: melseg's first pipeline, from the S x S cache; its batches are bit-identical to
 *            melseg 0.1's (and to `augment: true`).
 *  - plain:  what a plain PyTorch script does: RandomResizedCrop(0.75-1) and flips from the source,
 *            then ColorJitter(0.1, 0.1, 0.1) without hue on the crop; no blur, greyscale or
 *            autocontrast. It trained better than the study's in our runs.
 *  - none:   no augmentation (null): the S x S images, normalised.
 */
export const AUGMENT_PRESETS = Object.freeze({
  study: frozen({ name: 'study', cropFrom: 'source', photometric: 'before-crop', maskResample: 'bilinear', ...STUDY_PARAMS }),
  cached: frozen({ name: 'cached', cropFrom: 'cached', photometric: 'after-crop', maskResample: 'nearest', ...STUDY_PARAMS }),
  plain: frozen({
    name: 'plain',
    cropFrom: 'source',
    photometric: 'after-crop',
    maskResample: 'bilinear',
    ...STUDY_PARAMS,
    blurP: 0,
    greyscaleP: 0,
    autocontrastP: 0,
    jitter: { brightness: 0.1, contrast: 0.1, saturation: 0.1, hue: 0 },
  }),
  none: null,
});

export type AugmentPresetName = keyof typeof AUGMENT_PRESETS;

/** The `cached` preset: what drawParams and a loader's `augment: true` use when no config is given. */
export const CACHED_AUGMENT: Readonly<AugmentConfig> = AUGMENT_PRESETS.cached;

/** A preset with some fields replaced; `jitter` may be given in part. */
export type AugmentOverrides = Partial<Omit<AugmentConfig, 'jitter'>> & { jitter?: Partial<AugmentConfig['jitter']> };

export function withOverrides(base: Readonly<AugmentConfig>, overrides: AugmentOverrides): AugmentConfig {
  return { ...base, ...overrides, jitter: { ...base.jitter, ...overrides.jitter } };
}

/**
 * The transforms that can be switched off one by one (ablations). Switching one off keeps every
 * random draw, so the other transforms of each sample stay exactly what they were.
 */
export const AUGMENT_TRANSFORMS = {
  blur: { blurP: 0 },
  greyscale: { greyscaleP: 0 },
  autocontrast: { autocontrastP: 0 },
  hue: { jitter: { hue: 0 } },
  jitter: { jitter: { brightness: 0, contrast: 0, saturation: 0 } },
  flips: { hflipP: 0, vflipP: 0 },
} as const satisfies Record<string, AugmentOverrides>;

export type AugmentTransform = keyof typeof AUGMENT_TRANSFORMS;

/** `base` with the named transforms switched off. Throws, listing the valid names, on an unknown one. */
export function withoutTransforms(base: Readonly<AugmentConfig>, off: readonly string[]): AugmentConfig {
  const names = Object.keys(AUGMENT_TRANSFORMS);
  const bad = off.filter((t) => !names.includes(t));
  if (bad.length) {
    throw new Error(`unknown augmentation transform${bad.length > 1 ? 's' : ''} ${bad.map((t) => `'${t}'`).join(', ')}; expected some of: ${names.join(', ')}`);
  }
  let c: AugmentConfig = { ...base, jitter: { ...base.jitter } };
  for (const t of off) c = withOverrides(c, AUGMENT_TRANSFORMS[t as AugmentTransform]);
  return off.length ? { ...c, name: `${base.name} without ${off.join(', ')}` } : c;
}

/**
 * The preset called `name`, with the transforms in `off` switched off: what a command's
 * `--augment NAME` (and e.g. `--augment-off blur,hue`) selects. null for 'none'. Throws, listing
 * the valid names, on an unknown preset or transform.
 */
export function augmentPreset(name: string, off: readonly string[] = []): AugmentConfig | null {
  if (!Object.prototype.hasOwnProperty.call(AUGMENT_PRESETS, name)) {
    throw new Error(`unknown augmentation preset '${name}'; expected one of: ${Object.keys(AUGMENT_PRESETS).join(', ')}`);
  }
  const preset = AUGMENT_PRESETS[name as AugmentPresetName];
  return preset === null ? null : withoutTransforms(preset, off);
}

/** Whether `config` crops from the source-resolution samples (load the dataset with keepSource). */
export function needsSourceRes(config: Readonly<AugmentConfig> | null | undefined): boolean {
  return !!config && config.cropFrom === 'source';
}

/** Geometry only (crop + flips from the cache), no photometric change: for tests and ablations. */
export const GEOMETRY_ONLY: Readonly<AugmentConfig> = frozen({
  ...withoutTransforms(AUGMENT_PRESETS.cached, ['blur', 'greyscale', 'autocontrast', 'hue', 'jitter']),
  name: 'geometry only',
});

/** Every random choice for one sample; plain JSON, so it can be logged or sent to a worker. */
export interface AugmentParams {
  /** Side S of the (square) output. */
  size: number;
  /** [width, height] of the image the crop box refers to (S x S when cropping from the cache). */
  source: [number, number];
  /** Photometric transforms on the source image before the crop (else on the S x S crop). */
  photometricFirst: boolean;
  /** Mask resampled bilinearly then > 0.5 (else nearest). */
  maskBilinear: boolean;
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
 * torchvision RandomResizedCrop.get_params on a W x H source: up to 10 tries of
 * area = W H U(scale), ratio = exp(U(log ratio)), w = round(sqrt(area * ratio)), h = round(sqrt(area / ratio));
 * the first that fits is placed uniformly. Otherwise the whole image, centre-cropped to the ratio range.
 */
function drawCrop(rng: Rng, W: number, H: number, scale: readonly number[], ratio: readonly number[]): Box {
  const area = W * H;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logLo, logHi));
    const w = Math.round(Math.sqrt(target * aspect));
    const h = Math.round(Math.sqrt(target / aspect));
    if (w > 0 && w <= W && h > 0 && h <= H) {
      const y = rng.int(0, H - h + 1);
      const x = rng.int(0, W - w + 1);
      return { x, y, w, h };
    }
  }
  let w = W;
  let h = H;
  const inRatio = W / H;
  if (inRatio < ratio[0]) h = Math.round(w / ratio[0]);
  else if (inRatio > ratio[1]) w = Math.round(h * ratio[1]);
  return { x: (W - w) >> 1, y: (H - h) >> 1, w, h };
}

/**
 * Draws all random parameters of one sample, whose crop source is `source` = [width, height]
 * (default S x S, the cache). The number of draws is fixed except inside the crop retry loop, and
 * does not depend on the probabilities, so switching a transform off changes nothing else.
 */
export function drawParams(rng: Rng, size: number, config: Readonly<AugmentConfig> = CACHED_AUGMENT, source: [number, number] = [size, size]): AugmentParams {
  const crop = drawCrop(rng, source[0], source[1], config.cropScale, config.cropRatio);
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
    source: [source[0], source[1]],
    photometricFirst: config.photometric === 'before-crop',
    maskBilinear: config.maskResample === 'bilinear',
    crop,
    flipX,
    flipY,
    blur: doBlur ? { kx: config.blurKernel[0], ky: config.blurKernel[1], sigma } : null,
    greyscale: doGrey,
    autocontrast: doAuto,
    jitter: { order, brightness, contrast, saturation, hue },
  };
}

/** The parameters that leave an S x S sample unchanged (evaluation). */
export function identityParams(size: number): AugmentParams {
  return {
    size,
    source: [size, size],
    photometricFirst: false,
    maskBilinear: false,
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
  const [W, H] = params.source;
  if (image.width !== W || image.height !== H || image.channels !== 3 || mask.width !== W || mask.height !== H) {
    throw new Error(
      `applyAugment: expected a ${W}x${H} RGB image and a ${W}x${H} mask (params.source), ` +
        `found image ${image.width}x${image.height}x${image.channels} and mask ${mask.width}x${mask.height}; ` +
        'draw the parameters with the size of the image they are applied to.',
    );
  }
}

/** The photometric part of `params`, in place on a float HWC image in [0, 1]. */
function photometric(params: AugmentParams, f: Float32Array, W: number, H: number): void {
  if (params.blur) gaussianBlur(f, W, H, params.blur.kx, params.blur.ky, params.blur.sigma);
  if (params.greyscale) greyscale(f);
  if (params.autocontrast) autocontrast(f);
  const j = params.jitter;
  for (const op of j.order) {
    if (op === 0 && j.brightness !== 1) adjustBrightness(f, j.brightness);
    else if (op === 1 && j.contrast !== 1) adjustContrast(f, j.contrast);
    else if (op === 2 && j.saturation !== 1) adjustSaturation(f, j.saturation);
    else if (op === 3 && j.hue !== 0) adjustHue(f, j.hue);
  }
}

/**
 * Applies one sample's parameters to its image and mask (of size params.source): returns the
 * S x S float image in [0, 1] (HWC) and the 0/1 mask.
 */
export function applyAugment(params: AugmentParams, image: Image, mask: Mask): { image: FloatImage; mask: Mask } {
  checkPair(params, image, mask);
  const S = params.size;
  const [W, H] = params.source;
  // torchvision's resized_crop with antialias=False: plain bilinear, also when shrinking from the source.
  const geo = { flipX: params.flipX, flipY: params.flipY, antialias: false };
  let f: Float32Array;
  if (params.photometricFirst) {
    const src = new Float32Array(image.data.length);
    for (let i = 0; i < src.length; i++) src[i] = image.data[i] / 255;
    photometric(params, src, W, H);
    f = resampleBilinear(src, W, H, 3, params.crop, S, S, geo);
  } else {
    f = resampleBilinear(image.data, W, H, 3, params.crop, S, S, geo);
    for (let i = 0; i < f.length; i++) f[i] = f[i] / 255;
    photometric(params, f, S, S);
  }
  let m: Uint8Array;
  if (params.maskBilinear) {
    const mf = resampleBilinear(mask.data, W, H, 1, params.crop, S, S, geo);
    m = new Uint8Array(mf.length);
    for (let i = 0; i < mf.length; i++) m[i] = mf[i] > 0.5 ? 1 : 0;
  } else {
    m = resampleNearest(mask.data, W, H, 1, params.crop, S, S, geo);
  }
  return { image: { data: f, width: S, height: S, channels: 3 }, mask: { data: m, width: S, height: S } };
}
