/**
 * Builds one batch tensor from the decoded dataset. This is the only code that both the worker
 * threads and the in-thread fallback run, which is what makes their batches identical.
 *
 * Sample `index` in epoch `epoch` is augmented with the stream Rng.derive(seed, STREAM.augment,
 * epoch, index): a pure function of (seed, epoch, dataset index), independent of batch size,
 * shuffle order, worker count and timing.
 */
import { applyAugment, drawParams, maskToTensor, toTensor, type AugmentConfig, type AugmentParams } from './augment';
import type { Image, Mask } from './image';
import { Rng, STREAM } from './rng';

/** The decoded dataset as stored: N x S x S x 3 RGB and N x S x S 0/1 masks. */
export interface SampleStore {
  images: Uint8Array;
  masks: Uint8Array;
  size: number;
}

export interface CollateJob {
  /** Dataset indices, in batch order. */
  indices: number[];
  epoch: number;
  seed: number;
  /** null: no augmentation (evaluation), only normalisation. */
  augment: AugmentConfig | null;
}

export interface CollatedBatch {
  /** B x 3 x S x S, ImageNet-normalised. */
  image: Float32Array;
  /** B x 1 x S x S, 0/1. */
  mask: Float32Array;
}

/** Zero-copy views of sample `index`. */
export function sampleAt(store: SampleStore, index: number): { image: Image; mask: Mask } {
  const S = store.size;
  const plane = S * S;
  const n = store.masks.length / plane;
  if (!Number.isInteger(index) || index < 0 || index >= n) {
    throw new Error(`collate: sample index ${index} is outside the dataset (0..${n - 1})`);
  }
  return {
    image: { data: store.images.subarray(index * plane * 3, (index + 1) * plane * 3), width: S, height: S, channels: 3 },
    mask: { data: store.masks.subarray(index * plane, (index + 1) * plane), width: S, height: S },
  };
}

/** The augmentation parameters of dataset sample `index` in `epoch`. */
export function augmentParamsFor(seed: number, epoch: number, index: number, size: number, config: AugmentConfig): AugmentParams {
  return drawParams(Rng.derive(seed, STREAM.augment, epoch, index), size, config);
}

export function collate(store: SampleStore, job: CollateJob): CollatedBatch {
  const S = store.size;
  const plane = S * S;
  const B = job.indices.length;
  const image = new Float32Array(B * 3 * plane);
  const mask = new Float32Array(B * plane);
  for (let b = 0; b < B; b++) {
    const index = job.indices[b]!;
    const sample = sampleAt(store, index);
    if (job.augment) {
      const params = augmentParamsFor(job.seed, job.epoch, index, S, job.augment);
      const out = applyAugment(params, sample.image, sample.mask);
      toTensor(out.image, image, b * 3 * plane);
      maskToTensor(out.mask, mask, b * plane);
    } else {
      toTensor(sample.image, image, b * 3 * plane);
      maskToTensor(sample.mask, mask, b * plane);
    }
  }
  return { image, mask };
}
