/**
 * Builds one batch tensor from the decoded dataset. This is the only code that both the worker
 * threads and the in-thread fallback run, which is what makes their batches identical.
 *
 * Sample `index` in epoch `epoch` is augmented with the stream Rng.derive(seed, STREAM.augment,
 * epoch, index): a pure function of (seed, epoch, dataset index), independent of batch size,
 * shuffle order, worker count and timing. Augmentation that crops from the source resolution
 * (AugmentConfig.cropFrom 'source') reads the store's `sourceRes`; the rest reads the S x S arrays.
 */
import { applyAugment, drawParams, type AugmentConfig, type AugmentParams } from './augment';
import { maskToTensor, toTensor } from './tensor';
import type { Image, Mask } from './image';
import { Rng, STREAM } from './rng';

/** The decoded dataset as stored: N x S x S x 3 RGB and N x S x S 0/1 masks. */
export interface SampleStore {
  images: Uint8Array;
  masks: Uint8Array;
  size: number;
  /** Per sample at source resolution ([width, height], RGB HWC, 0/1), when the dataset kept them. */
  sourceRes?: { sizes: [number, number][]; images: Uint8Array[]; masks: Uint8Array[] } | null;
}

export interface CollateJob {
  /** Dataset indices, in batch order. */
  indices: number[];
  /**
   * Augmentation keys, parallel to `indices` (default: the index itself): a sample drawn several
   * times in one epoch (oversampling) gets a key per copy, so each copy is augmented differently.
   */
  keys?: number[];
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

/** Zero-copy views of sample `index` at source resolution. */
export function sourceSampleAt(store: SampleStore, index: number): { image: Image; mask: Mask } {
  const src = store.sourceRes;
  if (!src) {
    throw new Error(
      'collate: this augmentation crops from the source-resolution images, but the dataset was loaded without them; ' +
        'load it with loadDataset(spec, { imageSize, keepSource: true }) (see needsSourceRes)',
    );
  }
  if (!Number.isInteger(index) || index < 0 || index >= src.sizes.length) {
    throw new Error(`collate: sample index ${index} is outside the dataset (0..${src.sizes.length - 1})`);
  }
  const [width, height] = src.sizes[index];
  return { image: { data: src.images[index], width, height, channels: 3 }, mask: { data: src.masks[index], width, height } };
}

/**
 * The augmentation parameters of dataset sample `index` in `epoch`; `source` is the [width, height]
 * the crop is drawn on (default S x S, the cache).
 */
export function augmentParamsFor(seed: number, epoch: number, index: number, size: number, config: AugmentConfig, source?: [number, number]): AugmentParams {
  return drawParams(Rng.derive(seed, STREAM.augment, epoch, index), size, config, source);
}

export function collate(store: SampleStore, job: CollateJob): CollatedBatch {
  const S = store.size;
  const plane = S * S;
  const B = job.indices.length;
  const image = new Float32Array(B * 3 * plane);
  const mask = new Float32Array(B * plane);
  for (let b = 0; b < B; b++) {
    const index = job.indices[b];
    if (job.augment) {
      const sample = job.augment.cropFrom === 'source' ? sourceSampleAt(store, index) : sampleAt(store, index);
      const params = augmentParamsFor(job.seed, job.epoch, job.keys?.[b] ?? index, S, job.augment, [sample.image.width, sample.image.height]);
      const out = applyAugment(params, sample.image, sample.mask);
      toTensor(out.image, image, b * 3 * plane);
      maskToTensor(out.mask, mask, b * plane);
    } else {
      const sample = sampleAt(store, index);
      toTensor(sample.image, image, b * 3 * plane);
      maskToTensor(sample.mask, mask, b * plane);
    }
  }
  return { image, mask };
}
