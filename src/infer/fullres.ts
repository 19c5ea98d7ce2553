/**
 * Dataset samples to probabilities at each image's ORIGINAL resolution, beside the ground truth read
 * again from the original mask file: the network sees the S x S image training saw, its probability
 * map is upsampled (bilinear, half-pixel centres) to the original size, and only then thresholded,
 * so scores are comparable with papers that score at full resolution.
 */
import { decodeMask, detectLayout, listPairs, toTensor, type Dataset, type Mask } from '../data';
import { resizeProbability } from '../report';
import type { Tta } from './settings';
import { predictEveryTta, predictWithTta, type Network } from './tta';

/** The original-resolution ground truth of sample `index` of `dataset` (loaded from `spec`). */
export type TruthReader = (index: number) => Promise<Mask>;

export function truthReader(spec: string, dataset: Dataset): TruthReader {
  const S = dataset.size;
  if (dataset.layout === 'synthetic')
    return async (i) => ({ data: dataset.masks.slice(i * S * S, (i + 1) * S * S), width: S, height: S });
  const maskOf = new Map(listPairs(detectLayout(spec)).map((p) => [p.id, p.mask] as const));
  return async (i) => {
    const id = dataset.ids[i];
    const file = maskOf.get(id);
    if (!file) throw new Error(`sample ${id} of ${spec} has no mask file any more; the dataset changed since it was loaded: re-run the command`);
    const m = await decodeMask(file);
    const [w, h] = dataset.origSizes[i];
    if (m.width !== w || m.height !== h)
      throw new Error(`mask ${file} is ${m.width}x${m.height} but its image was ${w}x${h}; the dataset changed since it was cached: delete .cache/melseg and re-run`);
    return m;
  };
}

export interface FullResolutionSample {
  index: number;
  id: string;
  width: number;
  height: number;
  /** width * height probabilities. */
  prob: Float32Array;
  truth: Mask;
}

/** Normalised network input [count, 3, S, S] for dataset samples. */
function batchTensor(dataset: Dataset, batch: readonly number[]): Float32Array {
  const S = dataset.size;
  const plane = S * S;
  const x = new Float32Array(batch.length * 3 * plane);
  batch.forEach((idx, b) => toTensor({ data: dataset.images.subarray(idx * plane * 3, (idx + 1) * plane * 3), width: S, height: S, channels: 3 }, x, b * 3 * plane));
  return x;
}

function toOriginal(dataset: Dataset, idx: number, small: Float32Array): Float32Array {
  const S = dataset.size;
  const [w, h] = dataset.origSizes[idx];
  return w === S && h === S ? small.slice() : resizeProbability(small, S, S, w, h);
}

/**
 * Runs the network over `indices` (batches of `batchSize` images, each with all its TTA views in
 * the same run) and calls `visit` per image, in order, with the full-resolution probabilities.
 */
export async function forEachFullResolution(
  net: Network,
  dataset: Dataset,
  indices: readonly number[],
  o: { tta: Tta; batchSize: number; truth: TruthReader },
  visit: (s: FullResolutionSample) => void | Promise<void>,
): Promise<void> {
  const plane = dataset.size * dataset.size;
  for (let start = 0; start < indices.length; start += o.batchSize) {
    const batch = indices.slice(start, start + o.batchSize);
    const prob = await predictWithTta(net, batchTensor(dataset, batch), batch.length, dataset.size, o.tta);
    for (let b = 0; b < batch.length; b++) {
      const idx = batch[b];
      const [width, height] = dataset.origSizes[idx];
      const full = toOriginal(dataset, idx, prob.subarray(b * plane, (b + 1) * plane));
      await visit({ index: idx, id: dataset.ids[idx], width, height, prob: full, truth: await o.truth(idx) });
    }
  }
}

/** As forEachFullResolution, with the probabilities of every TTA mode from one run of the d4 views. */
export async function forEachFullResolutionEveryTta(
  net: Network,
  dataset: Dataset,
  indices: readonly number[],
  o: { batchSize: number; truth: TruthReader },
  visit: (s: Omit<FullResolutionSample, 'prob'> & { probs: Record<Tta, Float32Array> }) => void | Promise<void>,
): Promise<void> {
  const plane = dataset.size * dataset.size;
  for (let start = 0; start < indices.length; start += o.batchSize) {
    const batch = indices.slice(start, start + o.batchSize);
    const every = await predictEveryTta(net, batchTensor(dataset, batch), batch.length, dataset.size);
    for (let b = 0; b < batch.length; b++) {
      const idx = batch[b];
      const [width, height] = dataset.origSizes[idx];
      const at = (p: Float32Array) => toOriginal(dataset, idx, p.subarray(b * plane, (b + 1) * plane));
      const probs = { none: at(every.none), flips: at(every.flips), d4: at(every.d4) };
      await visit({ index: idx, id: dataset.ids[idx], width, height, probs, truth: await o.truth(idx) });
    }
  }
}
