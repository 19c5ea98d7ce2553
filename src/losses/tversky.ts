import type { LossDef } from './common';
import { sum } from './common';

/**
 * 4..14 tversky_loss_alpha_{0.00..1.00}, over the whole batch:
 *   -TP / (TP + a FN + (1-a) FP + 1e-8),  TP = sum p y, FN = sum (1-p) y, FP = sum p (1-y).
 * As in the study's code, alpha weights the false negatives (its README and Salehi et al. weight the
 * false positives by alpha): the code's meaning produced the published numbers, so it is kept.
 */
export function tversky(id: number): LossDef {
  const alpha = (id - 4) / 10;
  return {
    id,
    name: `tversky_loss_alpha_${alpha.toFixed(2)}`,
    build: ({ g, prob, mask }) => {
      const tp = sum(g, g.op1('Mul', [prob, mask]));
      const fn = sum(g, g.op1('Mul', [g.op1('Sub', [g.f32(1), prob]), mask]));
      const fp = sum(g, g.op1('Mul', [prob, g.op1('Sub', [g.f32(1), mask])]));
      const den = g.op1('Add', [g.op1('Add', [g.op1('Add', [tp, g.op1('Mul', [fn, g.f32(alpha)])]), g.op1('Mul', [fp, g.f32(1 - alpha)])]), g.f32(1e-8)]);
      return g.op1('Neg', [g.op1('Div', [tp, den])]);
    },
  };
}
