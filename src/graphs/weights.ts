/** The parameters of a configuration (state_dict order) and their seeded initial values, as tensors. */
import { forward } from '../models';
import type { ParamSpec } from '../models/builder';
import { initParam, seededUniform } from '../models/init';
import { Graph } from '../onnx/graph';
import { meta, type ResolvedConfig } from './config';

/** Parameter specs (state_dict order) without building gradients. */
export function parameterSpecs(c: ResolvedConfig): ParamSpec[] {
  return forward(new Graph('specs'), c.model, 'train', c.imageSize, c.width).mb.params;
}

export interface WeightTensor {
  dtype: 'float32' | 'int64';
  shape: number[];
  data: Float32Array | BigInt64Array;
}

/** Initial weights under their state_dict names (num_batches_tracked included) and the configuration's metadata: what a checkpoint holds. */
export interface InitialWeights {
  meta: ReturnType<typeof meta>;
  params: Record<string, WeightTensor>;
}

export function initialCheckpoint(c: ResolvedConfig, params: ParamSpec[]): InitialWeights {
  const rand = seededUniform(c.seed * 2654435761 + 12345);
  const out: Record<string, WeightTensor> = {};
  for (const p of params) out[p.name] = initParam(p, rand);
  return { meta: meta(c), params: out };
}

/** Trainable parameter count (PyTorch's sum(p.numel() for p in model.parameters())). */
export function countParameters(params: ParamSpec[]): number {
  return params.filter((p) => p.trainable).reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
}
