/**
 * PyTorch's default initialisation, seeded: conv weights kaiming-uniform with a = sqrt(5), which is
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)), biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)); BatchNorm weight 1,
 * bias 0, running mean 0, running var 1. PyTorch computes a weight's fan_in from dims 1.. of the tensor,
 * so a ConvTranspose [Cin, Cout, k, k] uses Cout*k*k.
 */
import type { ParamSpec } from './builder';
import { mulberry32 } from '../util/mulberry32';

/** Parameters draw from one mulberry32 stream in state_dict order, so the order fixes the values. */
export const seededUniform = mulberry32;

export type InitTensor = { dtype: 'float32'; shape: number[]; data: Float32Array } | { dtype: 'int64'; shape: number[]; data: BigInt64Array };

export function initParam(p: ParamSpec, rand: () => number): InitTensor {
  const n = p.shape.reduce((a, b) => a * b, 1);
  const f32 = (data: Float32Array): InitTensor => ({ dtype: 'float32', shape: p.shape, data });
  switch (p.init) {
    case 'uniform': {
      if (!p.fanIn) throw new Error(`model: parameter '${p.name}' is uniform-initialised without a fan-in`);
      const bound = 1 / Math.sqrt(p.fanIn);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = (2 * rand() - 1) * bound;
      return f32(out);
    }
    case 'ones':
      return f32(new Float32Array(n).fill(1));
    case 'zeros':
      return f32(new Float32Array(n));
    case 'count':
      return { dtype: 'int64', shape: p.shape, data: new BigInt64Array(Math.max(n, 1)) };
  }
}
