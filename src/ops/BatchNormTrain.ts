import type { Graph, Value } from '../onnx/graph';
import { float, op } from './types';
import { reducedCount } from './reduce';
import { staticDim } from './shapes';

/**
 * BatchNorm in training mode, a composite op of the `melseg` domain (the released onnxruntime has no
 * training-mode BatchNormalization kernel), lowered to standard ops:
 *   mean = E[x], xc = x - mean, var = E[xc^2] (biased, per channel over n,h,w; two-pass, so no
 *   E[x^2] - mean^2 cancellation), invstd = 1/sqrt(var+eps), y = gamma * xc * invstd + beta.
 * Outputs: y, xc, mean [C], var [C], invstd [1,C,1,1]. The closed-form gradient, with M = N*H*W and
 * xhat = xc * invstd:
 *   dbeta = sum dy, dgamma = sum dy*xhat = invstd * sum dy*xc,
 *   dx = gamma*invstd * (dy - dbeta/M - xhat*dgamma/M) = k*dy + c3 + xc*c2  (per channel:
 *   k = gamma*invstd, c3 = -k*dbeta/M, c2 = -k*invstd*dgamma/M).
 * The per-channel affine maps (y from xc, k*dy + c3) run as onnxruntime's eval-mode
 * BatchNormalization with mean 0, variance v: one read and one write of the tensor, where Mul + Add
 * take two of each (bench:ops bn, before the elementwise form was deleted). Full-tensor passes:
 * forward 6 reads/writes, backward 10 (12 and 14 with xhat materialised and every affine step its
 * own op).
 */
function perChannel(g: Graph, v: Value): Value {
  return g.op1('Reshape', [v, g.i64([1, -1, 1, 1])]);
}

/** x * scale + bias per channel (scale, bias [C]) in one pass: BatchNormalization with mean 0, var 1, eps 0. */
function affine(g: Graph, x: Value, scale: Value, bias: Value, hint?: string): Value {
  const C = staticDim(x.shape[1], 'BatchNormTrain');
  return g.op1('BatchNormalization', [x, scale, bias, g.f32(new Float32Array(C), [C]), g.f32(new Float32Array(C).fill(1), [C])], { epsilon: 0 }, hint);
}

type BnOperands = [x: Value, gamma: Value, beta: Value];

export const BatchNormTrain = op<BnOperands>({
  domain: 'melseg',
  inputs: ['X', 'scale', 'B'],
  shape: ([x]) => {
    const C = x.shape[1];
    return [
      { shape: [...x.shape], dtype: 'float32' },
      { shape: [...x.shape], dtype: 'float32' },
      { shape: [C], dtype: 'float32' },
      { shape: [C], dtype: 'float32' },
      { shape: [1, C, 1, 1], dtype: 'float32' },
    ];
  },
  lower: (g, [x, gamma, beta], attrs) => {
    const eps = float(attrs, 'epsilon', 1e-5);
    const axes = [0, 2, 3];
    const C = staticDim(x.shape[1], 'BatchNormTrain');
    const flat = (v: Value) => g.op1('Reshape', [v, g.i64([C])]);
    const mean4 = g.op1('ReduceMean', [x], { axes, keepdims: 1 });
    const xc = g.op1('Sub', [x, mean4]);
    // Mul + ReduceMean: onnxruntime's ReduceSumSquare measured ~1.3x slower than the two together.
    const var4 = g.op1('ReduceMean', [g.op1('Mul', [xc, xc])], { axes, keepdims: 1 });
    const invstd = g.op1('Reciprocal', [g.op1('Sqrt', [g.op1('Add', [var4, g.f32(eps)])])]);
    // gamma * xc / sqrt(var + eps) + beta, one pass over xc
    const y = g.op1('BatchNormalization', [xc, gamma, beta, g.f32(new Float32Array(C), [C]), flat(var4)], { epsilon: eps });
    return [y, xc, flat(mean4), flat(var4), invstd];
  },
  grad: ({ g, inputs: [x, gamma], outputs: [, xc, , , invstd], dy }) => {
    const axes = g.i64([0, 2, 3]);
    const C = staticDim(x.shape[1], 'BatchNormTrain');
    const inv = g.op1('Reshape', [invstd, g.i64([C])]);
    const dbeta = g.op1('ReduceSum', [dy, axes], { keepdims: 0 }, 'dbeta');
    const dgamma = g.op1('Mul', [g.op1('ReduceSum', [g.op1('Mul', [dy, xc]), axes], { keepdims: 0 }), inv], {}, 'dgamma');
    // counted on xc (same shape, kept for the gradient anyway): Shape(x) would keep x alive until now
    const M = reducedCount(g, xc, [0, 2, 3]);
    const k = g.op1('Mul', [gamma, inv]);
    const c3 = g.op1('Neg', [g.op1('Div', [g.op1('Mul', [k, dbeta]), M])]);
    const c2 = g.op1('Neg', [g.op1('Div', [g.op1('Mul', [g.op1('Mul', [k, inv]), dgamma]), M])]);
    const dx = g.op1('Add', [affine(g, dy, k, c3), g.op1('Mul', [xc, perChannel(g, c2)])], {}, 'dx');
    return [dx, dgamma, dbeta];
  },
});

/** Eval-mode BatchNormalization (running statistics): a standard op, no gradient needed. */
export const BatchNormalization = op<[x: Value, scale: Value, b: Value, mean: Value, variance: Value]>({
  inputs: ['X', 'scale', 'B', 'input_mean', 'input_var'],
  shape: ([x]) => [{ shape: [...x.shape], dtype: 'float32' }],
});
