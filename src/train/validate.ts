/**
 * Runs the eval graph (eval-mode BatchNorm) over a list of dataset samples: the mean loss, and per
 * image the confusion counts and metrics at threshold 0.5. Shared by training's validation, the test
 * evaluation and `melseg evaluate`.
 */
import * as ort from 'onnxruntime-node';
import { BatchLoader } from '../data';
import type { Dataset } from '../data';
import * as N from '../onnx/names';
import { confusion, imageMetrics, ImageMetrics, meanMetrics } from '../metrics';
import type { ModelState } from '../checkpoint/state';

export interface ImageResult extends ImageMetrics {
  id: string;
  index: number;
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

export interface SplitEvaluation {
  loss: number;
  mean: ImageMetrics;
  images: ImageResult[];
}

export interface EvaluateOptions {
  batchSize: number;
  /** Called with each batch's probabilities (count x S x S), e.g. to save masks or draw a grid. */
  onProbabilities?: (indices: number[], prob: Float32Array) => void | Promise<void>;
}

export async function evaluateSamples(
  session: ort.InferenceSession,
  inputs: readonly string[],
  state: ModelState,
  dataset: Dataset,
  indices: readonly number[],
  opts: EvaluateOptions,
): Promise<SplitEvaluation> {
  const S = dataset.size;
  const loader = new BatchLoader(dataset, indices, { batchSize: opts.batchSize, mode: 'eval', workers: 0 });
  const params = state.feeds(inputs);
  const images: ImageResult[] = [];
  let lossSum = 0;
  let count = 0;
  try {
    for await (const b of loader.epoch(0)) {
      const out = await session.run({
        ...params,
        [N.IMAGE]: new ort.Tensor('float32', b.image, [b.count, 3, S, S]),
        [N.MASK]: new ort.Tensor('float32', b.mask, [b.count, 1, S, S]),
      });
      const prob = out[N.PROBABILITY].data as Float32Array;
      lossSum += (out[N.LOSS].data[0] as number) * b.count;
      count += b.count;
      for (let k = 0; k < b.count; k++) {
        const c = confusion(prob, b.mask, k * S * S, S * S);
        images.push({ id: b.ids[k], index: b.indices[k], ...c, ...imageMetrics(c) });
      }
      await opts.onProbabilities?.(b.indices, prob);
    }
  } finally {
    await loader.close();
  }
  return { loss: count ? lossSum / count : NaN, mean: meanMetrics(images), images };
}
