/**
 * AdamW as graph ops, PyTorch's formula (torch.optim.AdamW, amsgrad off):
 *   p <- p (1 - lr wd)
 *   m <- b1 m + (1-b1) g,  v <- b2 v + (1-b2) g^2
 *   p <- p - lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
 * with t the 1-based step. The bias-correction scalars are computed once per graph.
 */
import type { Graph, Value } from '../onnx/graph';

/** The update's constants, baked into the graph (the batch dumps record them for the PyTorch reference). */
export const ADAMW = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 } as const;

export interface AdamWScalars {
  decay: Value;
  stepSize: Value;
  invSqrtBc2: Value;
  /** the moment coefficients b1, 1-b1, b2, 1-b2: constants, or graph values gated by `after` */
  b1: Value;
  c1: Value;
  b2: Value;
  c2: Value;
}

/**
 * The per-graph scalars of the update. With `after` (the gradients, in the order the backward pass
 * computes them), every scalar, and so every update, data-depends on all of them:
 * - onnxruntime then runs all updates after the whole backward pass instead of each as soon as its
 *   gradient exists, so the new parameters and moments are not held through the backward pass's
 *   activation peak (and src/train/step.ts may write them over their inputs);
 * - the gate is a chain, (max(g1) + max(g2)) + max(g3) ..., built so that onnxruntime's order (a
 *   depth-first walk that takes a node's highest-numbered producer first, src/graphs/liveness.ts
 *   ortOrder) reaches the gradients in that order: each weight gradient then runs as soon as its dy
 *   exists and frees the activation it reads, where with one gate on the last gradient the others
 *   ran after the whole backward pass, holding their activations and dy's until then.
 * gate = 0 * (...) is 0 for finite gradients (NaN otherwise, which the NaN check of the loss
 * catches on the next step).
 */
export function adamwScalars(g: Graph, lr: Value, step: Value, after: Value[] = []): AdamWScalars {
  const { beta1, beta2, weightDecay } = ADAMW;
  // the maxima numbered last gradient first, then the chain after them: at each Add the walk takes
  // the chain (higher number) before the gradient, so the first gradient is reached first
  const peaks = [...after].reverse().map((v) => g.op1('ReduceMax', [v], { keepdims: 0 })).reverse();
  const chained = peaks.length ? peaks.slice(1).reduce((m, p) => g.op1('Add', [m, p]), peaks[0]) : undefined;
  const gate = chained ? g.op1('Mul', [chained, g.f32(0)]) : undefined;
  const k = (x: number) => (gate ? g.op1('Add', [gate, g.f32(x)]) : g.f32(x));
  const bc1 = g.op1('Sub', [g.f32(1), g.op1('Pow', [g.f32(beta1), step])]);
  const bc2 = g.op1('Sub', [g.f32(1), g.op1('Pow', [g.f32(beta2), step])]);
  return {
    decay: g.op1('Sub', [k(1), g.op1('Mul', [lr, g.f32(weightDecay)])]),
    stepSize: g.op1('Div', [lr, bc1]),
    invSqrtBc2: g.op1('Reciprocal', [g.op1('Sqrt', [bc2])]),
    b1: k(beta1),
    c1: k(1 - beta1),
    b2: k(beta2),
    c2: k(1 - beta2),
  };
}

export function adamwUpdate(g: Graph, s: AdamWScalars, p: Value, grad: Value, m: Value, v: Value): { p: Value; m: Value; v: Value } {
  const { eps } = ADAMW;
  const m2 = g.op1('Add', [g.op1('Mul', [m, s.b1]), g.op1('Mul', [grad, s.c1])]);
  const v2 = g.op1('Add', [g.op1('Mul', [v, s.b2]), g.op1('Mul', [g.op1('Mul', [grad, grad]), s.c2])]);
  const denom = g.op1('Add', [g.op1('Mul', [g.op1('Sqrt', [v2]), s.invSqrtBc2]), g.f32(eps)]);
  const upd = g.op1('Mul', [g.op1('Div', [m2, denom]), s.stepSize]);
  const p2 = g.op1('Sub', [g.op1('Mul', [p, s.decay]), upd]);
  return { p: p2, m: m2, v: v2 };
}
