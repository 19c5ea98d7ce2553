/**
 * Test-time augmentation on square S x S inputs: each image is also seen flipped (and, for d4,
 * rotated); every view runs in ONE network batch, each output is mapped back to the original
 * orientation, and the probabilities are averaged.
 *
 * A transform is a pixel permutation: view[i] = image[src[i]], where output pixel (y, x) reads
 *   (yy, xx) = transpose ? (x, y) : (y, x);  xx -> S-1-xx if flipX;  yy -> S-1-yy if flipY.
 * The 8 combinations are the dihedral group D4 (the square's flips and 90-degree rotations). For a
 * network that commutes with the transform, out(view)[i] = out(image)[src[i]], so undoing is the
 * inverse permutation: restored[src[i]] = out(view)[i]. Pure index moves: undo(apply(x)) = x exactly.
 */
import type { Tta } from './settings';

export interface Transform {
  name: string;
  transpose: boolean;
  flipX: boolean;
  flipY: boolean;
}

const t = (name: string, transpose: boolean, flipX: boolean, flipY: boolean): Transform => ({ name, transpose, flipX, flipY });
const FLIPS: Transform[] = [t('identity', false, false, false), t('flip-h', false, true, false), t('flip-v', false, false, true), t('flip-hv', false, true, true)];
const TURNS: Transform[] = [t('transpose', true, false, false), t('rot90', true, true, false), t('rot270', true, false, true), t('anti-transpose', true, true, true)];

export const TTA_TRANSFORMS: Record<Tta, readonly Transform[]> = {
  none: FLIPS.slice(0, 1),
  flips: FLIPS,
  d4: [...FLIPS, ...TURNS],
};

/** src[i] for one transform at side S (see the file comment). */
export function sourceIndex(tr: Transform, S: number): Int32Array {
  const src = new Int32Array(S * S);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      let yy = tr.transpose ? x : y;
      let xx = tr.transpose ? y : x;
      if (tr.flipX) xx = S - 1 - xx;
      if (tr.flipY) yy = S - 1 - yy;
      src[y * S + x] = yy * S + xx;
    }
  }
  return src;
}

/**
 * The network batch for `count` images [count, C, S, S]: for each image, one view per transform,
 * image-major ([count * T, C, S, S], view t of image b at b * T + t).
 */
export function augmentBatch(images: Float32Array, count: number, channels: number, S: number, transforms: readonly Transform[]): Float32Array {
  const plane = S * S;
  if (images.length !== count * channels * plane)
    throw new Error(`augmentBatch: expected ${count} x ${channels} x ${S} x ${S} = ${count * channels * plane} values, found ${images.length}`);
  const T = transforms.length;
  const maps = transforms.map((tr) => sourceIndex(tr, S));
  const out = new Float32Array(count * T * channels * plane);
  for (let b = 0; b < count; b++) {
    for (let k = 0; k < T; k++) {
      const src = maps[k];
      for (let c = 0; c < channels; c++) {
        const from = (b * channels + c) * plane;
        const to = ((b * T + k) * channels + c) * plane;
        for (let i = 0; i < plane; i++) out[to + i] = images[from + src[i]];
      }
    }
  }
  return out;
}

/**
 * Undo each view's transform and average: `prob` is the network output for augmentBatch's batch
 * ([count * T, S, S]); returns [count, S, S]. Views are summed in transform order in float64.
 */
export function mergeViews(prob: Float32Array, count: number, S: number, transforms: readonly Transform[]): Float32Array {
  const plane = S * S;
  const T = transforms.length;
  if (prob.length !== count * T * plane)
    throw new Error(`mergeViews: expected ${count} x ${T} views of ${S} x ${S} = ${count * T * plane} values, found ${prob.length}`);
  const maps = transforms.map((tr) => sourceIndex(tr, S));
  const out = new Float32Array(count * plane);
  const acc = new Float64Array(plane);
  for (let b = 0; b < count; b++) {
    acc.fill(0);
    for (let k = 0; k < T; k++) {
      const src = maps[k];
      const base = (b * T + k) * plane;
      for (let i = 0; i < plane; i++) acc[src[i]] += prob[base + i];
    }
    for (let i = 0; i < plane; i++) out[b * plane + i] = acc[i] / T;
  }
  return out;
}

/** A network: `count` normalised images [count, 3, S, S] in, probabilities [count, S, S] out. */
export type Network = (images: Float32Array, count: number) => Promise<Float32Array>;

/** Probabilities of `count` images with test-time augmentation: all views in one network run. */
export async function predictWithTta(net: Network, images: Float32Array, count: number, S: number, tta: Tta): Promise<Float32Array> {
  const transforms = TTA_TRANSFORMS[tta];
  if (transforms.length === 1) return net(images, count);
  const views = augmentBatch(images, count, 3, S, transforms);
  return mergeViews(await net(views, count * transforms.length), count, S, transforms);
}

/**
 * The probabilities of every TTA mode from ONE run of the d4 views: none is the identity view,
 * flips the mean of the first four (d4 lists the flips first), d4 the mean of all eight, each
 * summed in the same order as predictWithTta, so the results are identical to it.
 */
export async function predictEveryTta(net: Network, images: Float32Array, count: number, S: number): Promise<Record<Tta, Float32Array>> {
  const d4 = TTA_TRANSFORMS.d4;
  const plane = S * S;
  const views = await net(augmentBatch(images, count, 3, S, d4), count * d4.length);
  const out = { none: new Float32Array(count * plane), flips: new Float32Array(count * plane), d4: mergeViews(views, count, S, d4) };
  for (let b = 0; b < count; b++) {
    const mine = views.subarray(b * d4.length * plane, (b + 1) * d4.length * plane);
    out.none.set(mine.subarray(0, plane), b * plane);
    out.flips.set(mergeViews(mine.subarray(0, TTA_TRANSFORMS.flips.length * plane), 1, S, TTA_TRANSFORMS.flips), b * plane);
  }
  return out;
}
