import {
  applyAugment,
  AUGMENT_PRESETS,
  augmentPreset,
  drawParams,
  GEOMETRY_ONLY,
  needsSourceRes,
  withOverrides,
  withoutTransforms,
  identityParams,
  CACHED_AUGMENT,
  type AugmentParams,
} from '../../src/data/augment';
import { augmentParamsFor } from '../../src/data/collate';
import type { Image, Mask } from '../../src/data/image';
import { adjustHue, autocontrast, gaussianBlur, gaussianKernel1d, greyscale } from '../../src/data/photometric';
import { Rng } from '../../src/data/rng';

const S = 16;

/** A random blob mask and an image whose red channel is mask * 255 (green, blue: seeded noise). */
function pair(seed: number): { image: Image; mask: Mask } {
  const rng = Rng.derive(seed);
  const mask = new Uint8Array(S * S);
  const cx = rng.uniform(4, 12);
  const cy = rng.uniform(4, 12);
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) mask[y * S + x] = (x - cx) ** 2 + 2 * (y - cy) ** 2 < 20 ? 1 : 0;
  const data = new Uint8Array(S * S * 3);
  for (let i = 0; i < S * S; i++) {
    data[i * 3] = mask[i]! * 255;
    data[i * 3 + 1] = rng.int(0, 256);
    data[i * 3 + 2] = rng.int(0, 256);
  }
  return { image: { data, width: S, height: S, channels: 3 }, mask: { data: mask, width: S, height: S } };
}

describe('drawParams', () => {
  it('is a pure function of (seed, epoch, sample index)', () => {
    const a = augmentParamsFor(42, 3, 17, S, CACHED_AUGMENT);
    expect(augmentParamsFor(42, 3, 17, S, CACHED_AUGMENT)).toEqual(a);
    expect(augmentParamsFor(42, 4, 17, S, CACHED_AUGMENT)).not.toEqual(a);
    expect(augmentParamsFor(42, 3, 18, S, CACHED_AUGMENT)).not.toEqual(a);
    expect(augmentParamsFor(43, 3, 17, S, CACHED_AUGMENT)).not.toEqual(a);
    expect(JSON.parse(JSON.stringify(a))).toEqual(a);
  });

  it('draws crops of 75..100% of the area with aspect 3/4..4/3, inside the image', () => {
    const S2 = 64;
    const rng = Rng.derive(5);
    for (let k = 0; k < 300; k++) {
      const { crop } = drawParams(rng, S2);
      expect(crop.x + crop.w).toBeLessThanOrEqual(S2);
      expect(crop.y + crop.h).toBeLessThanOrEqual(S2);
      // Rounding w and h to integers moves area and ratio by at most about one pixel.
      expect(crop.w * crop.h).toBeGreaterThanOrEqual(0.75 * S2 * S2 - 2 * S2);
      expect(crop.w / crop.h).toBeGreaterThan(0.75 - 0.03);
      expect(crop.w / crop.h).toBeLessThan(4 / 3 + 0.03);
    }
  });

  it('always blurs (as the study did) and flips, greys and autocontrasts at about their rates', () => {
    const rng = Rng.derive(9);
    const n = 2000;
    const counts = { blur: 0, flipX: 0, flipY: 0, grey: 0, auto: 0, badSigma: 0, badOrder: 0, badJitter: 0 };
    for (let k = 0; k < n; k++) {
      const p = drawParams(rng, S);
      if (p.blur) counts.blur++;
      if (p.flipX) counts.flipX++;
      if (p.flipY) counts.flipY++;
      if (p.greyscale) counts.grey++;
      if (p.autocontrast) counts.auto++;
      if (!p.blur || p.blur.sigma < 0.1 || p.blur.sigma >= 1 || p.blur.kx !== 5 || p.blur.ky !== 9) counts.badSigma++;
      if ([...p.jitter.order].sort().join() !== '0,1,2,3') counts.badOrder++;
      const j = p.jitter;
      if ([j.brightness, j.contrast, j.saturation].some((f) => f < 0.9 || f > 1.1) || Math.abs(j.hue) > 0.1) counts.badJitter++;
    }
    expect(counts.blur).toBe(n);
    expect([counts.badSigma, counts.badOrder, counts.badJitter]).toEqual([0, 0, 0]);
    expect(counts.flipX / n).toBeCloseTo(0.5, 1);
    expect(counts.flipY / n).toBeCloseTo(0.5, 1);
    expect(counts.grey / n).toBeCloseTo(0.1, 1);
    expect(counts.auto / n).toBeCloseTo(0.5, 1);
  });
});

describe('applyAugment', () => {
  it('applies the same geometry to image and mask', () => {
    for (let k = 0; k < 40; k++) {
      const { image, mask } = pair(k);
      const params = drawParams(Rng.derive(100 + k), S, GEOMETRY_ONLY);
      const out = applyAugment(params, image, mask);
      // Where bilinear red is exactly 0 or 1 all contributing source pixels agree, so the nearest
      // one (the mask's) must agree too; elsewhere (the rim) thresholding red at 0.5 nearly does.
      let rim = 0;
      let disagree = 0;
      let wrong = 0;
      for (let i = 0; i < S * S; i++) {
        const red = out.image.data[i * 3]!;
        if (red === 0 || red === 1) {
          if (out.mask.data[i] !== red) wrong++;
        } else {
          rim++;
          if ((red > 0.5 ? 1 : 0) !== out.mask.data[i]) disagree++;
        }
      }
      expect(wrong).toBe(0);
      expect(disagree).toBeLessThanOrEqual(Math.max(2, rim / 3));
    }
  });

  it('flips exactly: a full-image crop with both flips rotates image and mask by 180 degrees', () => {
    const { image, mask } = pair(1);
    const params: AugmentParams = { ...identityParams(S), flipX: true, flipY: true };
    const out = applyAugment(params, image, mask);
    const wantMask: number[] = [];
    const wantGreen: number[] = [];
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const src = (S - 1 - y) * S + (S - 1 - x);
        wantMask.push(mask.data[src]!);
        wantGreen.push(image.data[src * 3 + 1]!);
      }
    }
    expect(Array.from(out.mask.data)).toEqual(wantMask);
    expect(Array.from(out.image.data.filter((_, i) => i % 3 === 1), (v) => Math.round(v * 255))).toEqual(wantGreen);
  });

  it('changes only the image with photometric operations, never the mask', () => {
    const { image, mask } = pair(2);
    for (let k = 0; k < 10; k++) {
      const full = drawParams(Rng.derive(7, k), S);
      const geometric: AugmentParams = { ...identityParams(S), crop: full.crop, flipX: full.flipX, flipY: full.flipY };
      const a = applyAugment(full, image, mask);
      const b = applyAugment(geometric, image, mask);
      expect(Array.from(a.mask.data)).toEqual(Array.from(b.mask.data));
      expect(a.image.data.every((v) => v >= 0 && v <= 1)).toBe(true);
      expect(Array.from(a.image.data)).not.toEqual(Array.from(b.image.data));
    }
  });

  it('is deterministic for the same (seed, epoch, index)', () => {
    const { image, mask } = pair(3);
    const run = (): Float32Array => applyAugment(augmentParamsFor(1, 2, 3, S, CACHED_AUGMENT), image, mask).image.data;
    expect(Buffer.from(run().buffer).equals(Buffer.from(run().buffer))).toBe(true);
  });

  it('with identity parameters returns the image unchanged', () => {
    const { image, mask } = pair(4);
    const out = applyAugment(identityParams(S), image, mask);
    expect(Array.from(out.mask.data)).toEqual(Array.from(mask.data));
    expect(Array.from(out.image.data, (v) => Math.round(v * 255))).toEqual(Array.from(image.data));
    expect(Math.max(...Array.from(out.image.data, (v, i) => Math.abs(v - image.data[i]! / 255)))).toBeLessThan(1e-6);
  });
});

describe('augmentation presets', () => {
  it('are study, cached, plain and none; cached is the first pipeline and the default (CACHED_AUGMENT)', () => {
    expect(Object.keys(AUGMENT_PRESETS)).toEqual(['study', 'cached', 'plain', 'none']);
    expect(AUGMENT_PRESETS.cached).toBe(CACHED_AUGMENT);
    expect(AUGMENT_PRESETS.none).toBeNull();
    const { study, cached, plain } = AUGMENT_PRESETS;
    expect([study.cropFrom, study.photometric, study.maskResample]).toEqual(['source', 'before-crop', 'bilinear']);
    expect([cached.cropFrom, cached.photometric, cached.maskResample]).toEqual(['cached', 'after-crop', 'nearest']);
    expect([plain.cropFrom, plain.photometric, plain.maskResample]).toEqual(['source', 'after-crop', 'bilinear']);
    const { name: _s, cropFrom: _a, photometric: _b, maskResample: _c, ...studyParams } = study;
    const { name: _t, cropFrom: _d, photometric: _e, maskResample: _f, ...cachedParams } = cached;
    expect(studyParams).toEqual(cachedParams);
    expect([needsSourceRes(study), needsSourceRes(cached), needsSourceRes(plain), needsSourceRes(null)]).toEqual([true, false, true, false]);
  });

  it('plain is crop 0.75-1, flips and colour jitter 0.1 without hue; no blur, greyscale or autocontrast', () => {
    const p = AUGMENT_PRESETS.plain;
    expect([p.cropScale, p.cropRatio, p.hflipP, p.vflipP]).toEqual([[0.75, 1], [3 / 4, 4 / 3], 0.5, 0.5]);
    expect([p.blurP, p.greyscaleP, p.autocontrastP]).toEqual([0, 0, 0]);
    expect(p.jitter).toEqual({ brightness: 0.1, contrast: 0.1, saturation: 0.1, hue: 0 });
  });

  it('are picked by name with transforms switched off, and a typo lists the valid names', () => {
    const c = augmentPreset('study', ['blur', 'hue'])!;
    expect([c.blurP, c.jitter.hue, c.jitter.brightness, c.greyscaleP, c.cropFrom]).toEqual([0, 0, 0.1, 0.1, 'source']);
    expect(c.name).toBe('study without blur, hue');
    expect(augmentPreset('none')).toBeNull();
    expect(augmentPreset('plain')).toEqual(AUGMENT_PRESETS.plain);
    expect(() => augmentPreset('studdy')).toThrow("unknown augmentation preset 'studdy'; expected one of: study, cached, plain, none");
    expect(() => augmentPreset('study', ['blurr'])).toThrow("unknown augmentation transform 'blurr'; expected some of: blur, greyscale, autocontrast, hue, jitter, flips");
    expect(withOverrides(AUGMENT_PRESETS.cached, { jitter: { contrast: 0 } }).jitter).toEqual({ brightness: 0.1, contrast: 0, saturation: 0.1, hue: 0.1 });
    expect(AUGMENT_PRESETS.study.blurP).toBe(1); // the table is not changed by the overrides above
  });

  it('switching a transform off changes only its own parameters: every other draw stays', () => {
    const full = AUGMENT_PRESETS.study;
    const off = {
      blur: (p: AugmentParams) => ({ ...p, blur: null }),
      greyscale: (p: AugmentParams) => ({ ...p, greyscale: false }),
      autocontrast: (p: AugmentParams) => ({ ...p, autocontrast: false }),
      hue: (p: AugmentParams) => ({ ...p, jitter: { ...p.jitter, hue: 0 } }),
      jitter: (p: AugmentParams) => ({ ...p, jitter: { ...p.jitter, brightness: 1, contrast: 1, saturation: 1 } }),
      flips: (p: AugmentParams) => ({ ...p, flipX: false, flipY: false }),
    };
    for (const [name, expectOff] of Object.entries(off)) {
      for (let k = 0; k < 20; k++) {
        const a = augmentParamsFor(5, 1, k, S, full, [40, 30]);
        const b = augmentParamsFor(5, 1, k, S, withoutTransforms(full, [name]), [40, 30]);
        expect(b).toEqual(expectOff(a));
      }
    }
  });
});

describe('the study pipeline (crop from the source resolution)', () => {
  const geometryOnly = withoutTransforms(AUGMENT_PRESETS.study, ['blur', 'greyscale', 'autocontrast', 'hue', 'jitter']);

  /** A W x H sample: mask = an ellipse, red = mask * 255, green and blue seeded noise. */
  function sourcePair(W: number, H: number, seed: number): { image: Image; mask: Mask } {
    const rng = Rng.derive(seed);
    const mask = new Uint8Array(W * H);
    const cx = rng.uniform(0.3, 0.7) * W;
    const cy = rng.uniform(0.3, 0.7) * H;
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) mask[y * W + x] = ((x - cx) / (0.3 * W)) ** 2 + ((y - cy) / (0.25 * H)) ** 2 < 1 ? 1 : 0;
    const data = new Uint8Array(W * H * 3);
    for (let i = 0; i < W * H; i++) {
      data[i * 3] = mask[i]! * 255;
      data[i * 3 + 1] = rng.int(0, 256);
      data[i * 3 + 2] = rng.int(0, 256);
    }
    return { image: { data, width: W, height: H, channels: 3 }, mask: { data: mask, width: W, height: H } };
  }

  it('draws crops of 75..100% of a non-square source with aspect 3/4..4/3, inside it', () => {
    const rng = Rng.derive(6);
    for (let k = 0; k < 300; k++) {
      const { crop, source } = drawParams(rng, S, AUGMENT_PRESETS.study, [153, 112]);
      expect(source).toEqual([153, 112]);
      expect(crop.x + crop.w).toBeLessThanOrEqual(153);
      expect(crop.y + crop.h).toBeLessThanOrEqual(112);
      expect(crop.w * crop.h).toBeGreaterThanOrEqual(0.75 * 153 * 112 - 153 - 112);
      expect(crop.w / crop.h).toBeGreaterThan(0.75 - 0.03);
      expect(crop.w / crop.h).toBeLessThan(4 / 3 + 0.03);
    }
  });

  it('crops image and mask alike: the mask is the bilinear image of the lesion, thresholded at 0.5', () => {
    for (let k = 0; k < 30; k++) {
      const { image, mask } = sourcePair(45, 31, k);
      const params = drawParams(Rng.derive(200 + k), S, geometryOnly, [45, 31]);
      const out = applyAugment(params, image, mask);
      expect([out.image.width, out.mask.width, out.mask.height]).toEqual([S, S, S]);
      let checked = 0;
      for (let i = 0; i < S * S; i++) {
        const red = out.image.data[i * 3]!;
        if (Math.abs(red - 0.5) < 1e-4) continue; // a tie decided by float rounding
        expect(out.mask.data[i]).toBe(red > 0.5 ? 1 : 0);
        checked++;
      }
      expect(checked).toBeGreaterThan(S * S - 4);
    }
  });

  it('returns an S x S source unchanged with a full crop and nothing else', () => {
    const { image, mask } = sourcePair(S, S, 3);
    const params: AugmentParams = { ...identityParams(S), photometricFirst: true, maskBilinear: true };
    const out = applyAugment(params, image, mask);
    expect(Array.from(out.mask.data)).toEqual(Array.from(mask.data));
    expect(Array.from(out.image.data, (v) => Math.round(v * 255))).toEqual(Array.from(image.data));
  });

  it('blurs at source resolution: an edge blurred at 4 S spans half the output pixels of one blurred at S', () => {
    // A vertical step edge, black left, white right; the same sigma-1 blur, no crop, no flips.
    const edgeImage = (W: number): Image => {
      const data = new Uint8Array(W * W * 3);
      for (let y = 0; y < W; y++) for (let x = W / 2; x < W; x++) data.fill(255, (y * W + x) * 3, (y * W + x) * 3 + 3);
      return { data, width: W, height: W, channels: 3 };
    };
    const blurOnly = (source: number, first: boolean): AugmentParams => ({
      ...identityParams(S),
      source: [source, source],
      crop: { x: 0, y: 0, w: source, h: source },
      photometricFirst: first,
      blur: { kx: 5, ky: 9, sigma: 1 },
    });
    /** Pixels of row 0 strictly between black and white: the width of the blurred edge at S. */
    const ramp = (f: Float32Array): number => Array.from({ length: S }, (_, x) => f[x * 3]!).filter((v) => v > 0.02 && v < 0.98).length;
    const big = edgeImage(4 * S);
    const small = edgeImage(S);
    const atSource = applyAugment(blurOnly(4 * S, true), big, { data: new Uint8Array(16 * S * S), width: 4 * S, height: 4 * S });
    const atS = applyAugment(blurOnly(S, false), small, { data: new Uint8Array(S * S), width: S, height: S });
    expect(ramp(atS.image.data)).toBe(4); // +-2 pixels of a 5-tap sigma-1 kernel
    // 4 source pixels = 1 output pixel, which the bilinear sampling may split over 2.
    expect(ramp(atSource.image.data)).toBeLessThanOrEqual(2);
  });

  it('takes the photometric statistics of the whole source, not of the crop (autocontrast before the crop)', () => {
    // Grey 100..200 everywhere except a black top-left corner that the crop leaves out.
    const W = 32;
    const data = new Uint8Array(W * W * 3);
    for (let y = 0; y < W; y++) for (let x = 0; x < W; x++) data.fill(y < 4 && x < 4 ? 0 : 100 + ((x + y) * 100) / (2 * W - 2), (y * W + x) * 3, (y * W + x) * 3 + 3);
    const image: Image = { data, width: W, height: W, channels: 3 };
    const mask: Mask = { data: new Uint8Array(W * W), width: W, height: W };
    const base: AugmentParams = { ...identityParams(S), source: [W, W], crop: { x: 8, y: 8, w: 24, h: 24 }, autocontrast: true };
    const min = (f: Float32Array): number => f.reduce((a, v) => Math.min(a, v), 1);
    const before = applyAugment({ ...base, photometricFirst: true }, image, mask).image.data;
    const after = applyAugment({ ...base, photometricFirst: false }, image, mask).image.data;
    expect(min(after)).toBeLessThan(0.01); // the crop's own darkest pixel is stretched to 0
    expect(min(before)).toBeGreaterThan(100 / 255); // the whole image's darkest pixel (0) was outside the crop
  });
});

describe('photometric operations', () => {
  it('Gaussian kernels are normalised and symmetric; blurring a constant image keeps it', () => {
    const k = gaussianKernel1d(9, 0.7);
    expect(k.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 6);
    for (let i = 0; i < 4; i++) expect(k[i]).toBeCloseTo(k[8 - i]!, 7);
    const img = new Float32Array(6 * 5 * 3).fill(0.3);
    gaussianBlur(img, 6, 5, 5, 9, 1);
    img.forEach((v) => expect(v).toBeCloseTo(0.3, 6));
  });

  it('greyscale uses 0.2989 R + 0.587 G + 0.114 B; autocontrast stretches each channel to [0, 1]', () => {
    const g = new Float32Array([1, 0, 0]);
    greyscale(g);
    g.forEach((v) => expect(v).toBeCloseTo(0.2989, 6));
    const a = new Float32Array([0.2, 0.5, 0.5, 0.6, 0.5, 0.7]);
    autocontrast(a);
    expect(Array.from(a).map((v) => Number(v.toFixed(5)))).toEqual([0, 0.5, 0, 1, 0.5, 1]);
  });

  it('a hue shift of a whole turn is the identity and a third of a turn rotates R -> G', () => {
    const px = new Float32Array([0.8, 0.3, 0.1]);
    adjustHue(px, 0.5);
    adjustHue(px, -0.5);
    expect(Array.from(px).map((v) => Number(v.toFixed(5)))).toEqual([0.8, 0.3, 0.1]);
    const red = new Float32Array([1, 0, 0]);
    adjustHue(red, 1 / 3);
    expect(Array.from(red).map((v) => Number(v.toFixed(5)))).toEqual([0, 1, 0]);
  });
});
