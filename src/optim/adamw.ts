/**
 * AdamW as graph ops, PyTorch's formula (torch.optim.AdamW, amsgrad off):
 *   p <- p (1 - lr wd)
 *   m <- b1 m + (1-b1) g,  v <- b2 v + (1-b2) g^2
 *   p <- p - lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
 * with t the 1-based step. The bias-correction scalars are computed once per graph.
 */
import type { Graph, Value } from '../onnx/graph';

export const ADAMW = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 } as const;

export interface AdamWScalars {
  decay: Value;
  stepSize: Value;
  invSqrtBc2: Value;
}

export function adamwScalars(g: Graph, lr: Value, step: Value): AdamWScalars {
  const { beta1, beta2, weightDecay } = ADAMW;
  const bc1 = g.op1('Sub', [g.f32(1), g.op1('Pow', [g.f32(beta1), step])]);
  const bc2 = g.op1('Sub', [g.f32(1), g.op1('Pow', [g.f32(beta2), step])]);
  return {
    decay: g.op1('Sub', [g.f32(1), g.op1('Mul', [lr, g.f32(weightDecay)])]),
    stepSize: g.op1('Div', [lr, bc1]),
    invSqrtBc2: g.op1('Reciprocal', [g.op1('Sqrt', [bc2])]),
  };
}

export function adamwUpdate(g: Graph, s: AdamWScalars, p: Value, grad: Value, m: Value, v: Value): { p: Value; m: Value; v: Value } {
  const { beta1, beta2, eps } = ADAMW;
  const m2 = g.op1('Add', [g.op1('Mul', [m, g.f32(beta1)]), g.op1('Mul', [grad, g.f32(1 - beta1)])]);
  const v2 = g.op1('Add', [g.op1('Mul', [v, g.f32(beta2)]), g.op1('Mul', [g.op1('Mul', [grad, grad]), g.f32(1 - beta2)])]);
  const denom = g.op1('Add', [g.op1('Mul', [g.op1('Sqrt', [v2]), s.invSqrtBc2]), g.f32(eps)]);
  const upd = g.op1('Mul', [g.op1('Div', [m2, denom]), s.stepSize]);
  const p2 = g.op1('Sub', [g.op1('Mul', [p, s.decay]), upd]);
  return { p: p2, m: m2, v: v2 };
}
