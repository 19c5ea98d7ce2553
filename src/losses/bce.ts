import type { LossDef } from './common';
import { logOneMinusSigmoid, logSigmoid, mean } from './common';

/**
 * 0 BCELoss: PyTorch's nn.BCELoss on probabilities, mean of -(y log p + (1-y) log(1-p)), each log
 * clamped at -100 as PyTorch does. The logs are taken from the logits (stable), then clamped.
 */
export const BCELoss: LossDef = {
  id: 0,
  name: 'BCELoss',
  build: ({ g, logits, mask }) => {
    const clamp = (v: import('../onnx/graph').Value) => g.op1('Clip', [v, g.f32(-100)]);
    const lp = clamp(logSigmoid(g, logits));
    const lq = clamp(logOneMinusSigmoid(g, logits));
    const ll = g.op1('Add', [g.op1('Mul', [mask, lp]), g.op1('Mul', [g.op1('Sub', [g.f32(1), mask]), lq])]);
    return g.op1('Neg', [mean(g, ll)]);
  },
};

/**
 * 1 bce_loss: the stable form x - x*y + log(1 + exp(-x)), mean, applied to the logits. (The study
 * applied it to probabilities, which defeats the stable form's purpose.) log(1+exp(-x)) = softplus(-x).
 */
export const bceLoss: LossDef = {
  id: 1,
  name: 'bce_loss',
  build: ({ g, logits, mask }) => {
    const xy = g.op1('Mul', [logits, mask]);
    const sp = g.op1('Softplus', [g.op1('Neg', [logits])]);
    return mean(g, g.op1('Add', [g.op1('Sub', [logits, xy]), sp]));
  },
};
