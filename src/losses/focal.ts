import type { LossDef } from './common';
import { logOneMinusSigmoid, logSigmoid, sum } from './common';

/**
 * 3 focal_loss, gamma = 2, summed over every pixel of the batch (the study's formula):
 *   -sum( y (1-p)^2 log p + (1-y) p^2 log(1-p) ), logs from the logits.
 */
export const focalLoss: LossDef = {
  id: 3,
  name: 'focal_loss',
  build: ({ g, logits, prob, mask }) => {
    const q = g.op1('Sub', [g.f32(1), prob]);
    const pos = g.op1('Mul', [g.op1('Mul', [mask, g.op1('Mul', [q, q])]), logSigmoid(g, logits)]);
    const neg = g.op1('Mul', [g.op1('Mul', [g.op1('Sub', [g.f32(1), mask]), g.op1('Mul', [prob, prob])]), logOneMinusSigmoid(g, logits)]);
    return g.op1('Neg', [sum(g, g.op1('Add', [pos, neg]))]);
  },
};
