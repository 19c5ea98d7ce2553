/**
 * Dataset samples to probabilities at each image's ORIGINAL resolution, beside the ground truth read
 * again from the original mask file: the network sees the S x S image training saw, its probability
 * map is upsampled (bilinear, half-pixel centres) to the original size, and only then thresholded,
 * so scores are comparable with papers that score at full resolution.
 */
import { decodeMask, detectLayout, listPairs, toTensor, type Dataset, type Mask } from '../data';
import { resizeProbability } from '../report';
import type { Tta } from './settings';
import { predictWithTta, type Network } from './tta';

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
  const S = dataset.size;
  const plane = S * S;
  for (let start = 0; start < indices.length; start += o.batchSize) {
    const batch = indices.slice(start, start + o.batchSize);
    const x = new Float32Array(batch.length * 3 * plane);
    batch.forEach((idx, b) => toTensor({ data: dataset.images.subarray(idx * plane * 3, (idx + 1) * plane * 3), width: S, height: S, channels: 3 }, x, b * 3 * plane));
    const prob = await predictWithTta(net, x, batch.length, S, o.tta);
    for (let b = 0; b < batch.length; b++) {
      const idx = batch[b];
      const [w, h] = dataset.origSizes[idx];
      const small = prob.subarray(b * plane, (b + 1) * plane);
      const full = w === S && h === S ? small.slice() : resizeProbability(small, S, S, w, h);
      await visit({ index: idx, id: dataset.ids[idx], width: w, height: h, prob: full, truth: await o.truth(idx) });
    }
  }
}
