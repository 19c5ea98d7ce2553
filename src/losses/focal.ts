import type { LossDef } from './common';
import { logOneMinusSigmoid, logSigmoid, sum } from './common';

/**
 * 3 focal_loss, exactly the study's (lib/losses.py, gamma = 2), summed over every pixel of the batch:
 *   -sum( (1-p)^2 y log p + (1-y) log(1-p) ).
 * Only the positive term carries the focusing factor: the negative term is plain cross-entropy (no
 * p^2). The study's eps = 8e-10 is an unused argument. log p and log(1-p) come from the logits (stable).
 */
export const focalLoss: LossDef = {
  id: 3,
  name: 'focal_loss',
  build: ({ g, logits, prob, mask }) => {
    const q = g.op1('Sub', [g.f32(1), prob]);
    const pos = g.op1('Mul', [g.op1('Mul', [mask, g.op1('Mul', [q, q])]), logSigmoid(g, logits)]);
    const neg = g.op1('Mul', [g.op1('Sub', [g.f32(1), mask]), logOneMinusSigmoid(g, logits)]);
    return g.op1('Neg', [sum(g, g.op1('Add', [pos, neg]))]);
  },
};
