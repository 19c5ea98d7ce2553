import {
  applyAugment,
  drawParams,
  GEOMETRY_ONLY,
  identityParams,
  IMAGENET_MEAN,
  IMAGENET_STD,
  STUDY_AUGMENT,
  toTensor,
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
    const a = augmentParamsFor(42, 3, 17, S, STUDY_AUGMENT);
    expect(augmentParamsFor(42, 3, 17, S, STUDY_AUGMENT)).toEqual(a);
    expect(augmentParamsFor(42, 4, 17, S, STUDY_AUGMENT)).not.toEqual(a);
    expect(augmentParamsFor(42, 3, 18, S, STUDY_AUGMENT)).not.toEqual(a);
    expect(augmentParamsFor(43, 3, 17, S, STUDY_AUGMENT)).not.toEqual(a);
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
    const run = (): Float32Array => applyAugment(augmentParamsFor(1, 2, 3, S, STUDY_AUGMENT), image, mask).image.data;
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

describe('toTensor', () => {
  it('normalises with ImageNet statistics into CHW order', () => {
    const img: Image = { data: new Uint8Array([255, 0, 128, 0, 255, 64]), width: 2, height: 1, channels: 3 };
    const t = toTensor(img);
    const expected = [
      (1 - IMAGENET_MEAN[0]) / IMAGENET_STD[0], (0 - IMAGENET_MEAN[0]) / IMAGENET_STD[0],
      (0 - IMAGENET_MEAN[1]) / IMAGENET_STD[1], (1 - IMAGENET_MEAN[1]) / IMAGENET_STD[1],
      (128 / 255 - IMAGENET_MEAN[2]) / IMAGENET_STD[2], (64 / 255 - IMAGENET_MEAN[2]) / IMAGENET_STD[2],
    ];
    Array.from(t).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
  });
});
