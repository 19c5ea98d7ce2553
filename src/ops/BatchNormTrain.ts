import type { Graph, Value } from '../onnx/graph';
import type { OpDef } from './types';
import { reducedCount } from './reduce';

/**
 * BatchNorm in training mode, a composite op of the `melseg` domain (the released onnxruntime has no
 * training-mode BatchNormalization kernel), lowered to standard ops:
 *   mean = E[x], var = E[(x-mean)^2] (biased, per channel over n,h,w), invstd = 1/sqrt(var+eps),
 *   xhat = (x-mean)*invstd, y = gamma*xhat + beta.
 * Outputs: y, xhat, mean [C], var [C], invstd [1,C,1,1]. The closed-form gradient, with M = N*H*W:
 *   dbeta = sum dy, dgamma = sum dy*xhat,
 *   dx = gamma*invstd * (dy - dbeta/M - xhat*dgamma/M).
 */
function perChannel(g: Graph, v: Value): Value {
  return g.op1('Reshape', [v, g.i64([1, -1, 1, 1])]);
}

export const BatchNormTrain: OpDef = {
  domain: 'melseg',
  shape: ([x]) => {
    const C = x!.shape[1];
    return [
      { shape: [...x!.shape], dtype: 'float32' },
      { shape: [...x!.shape], dtype: 'float32' },
      { shape: [C], dtype: 'float32' },
      { shape: [C], dtype: 'float32' },
      { shape: [1, C, 1, 1], dtype: 'float32' },
    ];
  },
  lower: (g, [x, gamma, beta], attrs) => {
    const eps = (attrs.epsilon as number) ?? 1e-5;
    const axes = [0, 2, 3];
    const mean4 = g.op1('ReduceMean', [x!], { axes, keepdims: 1 });
    const xc = g.op1('Sub', [x!, mean4]);
    const var4 = g.op1('ReduceMean', [g.op1('Mul', [xc, xc])], { axes, keepdims: 1 });
    const invstd = g.op1('Reciprocal', [g.op1('Sqrt', [g.op1('Add', [var4, g.f32(eps)])])]);
    const xhat = g.op1('Mul', [xc, invstd]);
    const y = g.op1('Add', [g.op1('Mul', [xhat, perChannel(g, gamma!)]), perChannel(g, beta!)]);
    const C = x!.shape[1] as number;
    const flat = (v: Value) => g.op1('Reshape', [v, g.i64([C])]);
    return [y, xhat, flat(mean4), flat(var4), invstd];
  },
  grad: ({ g, inputs: [x, gamma], outputs: [, xhat, , , invstd], dOut: [dy] }) => {
    const axes = g.i64([0, 2, 3]);
    const dbeta = g.op1('ReduceSum', [dy!, axes], { keepdims: 0 }, 'dbeta');
    const dgamma = g.op1('ReduceSum', [g.op1('Mul', [dy!, xhat]), axes], { keepdims: 0 }, 'dgamma');
    const M = reducedCount(g, x!, [0, 2, 3]);
    const k = g.op1('Mul', [perChannel(g, gamma!), invstd]);
    const a = g.op1('Div', [perChannel(g, dbeta), M]);
    const b = g.op1('Div', [perChannel(g, dgamma), M]);
    const inner = g.op1('Sub', [g.op1('Sub', [dy!, a]), g.op1('Mul', [xhat, b])]);
    return [g.op1('Mul', [inner, k], {}, 'dx'), dgamma, dbeta];
  },
};

/** Eval-mode BatchNormalization (running statistics): a standard op, no gradient needed. */
export const BatchNormalization: OpDef = {
  shape: ([x]) => [{ shape: [...x!.shape], dtype: 'float32' }],
};
