import type { LossDef } from './common';
import { mean } from './common';

/** 2 dice_loss, per pixel as the study defines it: 1 - mean(2 p y / (p + y + 8e-10)). */
export const diceLoss: LossDef = {
  id: 2,
  name: 'dice_loss',
  build: ({ g, prob, mask }) => {
    const num = g.op1('Mul', [g.op1('Mul', [prob, mask]), g.f32(2)]);
    const den = g.op1('Add', [g.op1('Add', [prob, mask]), g.f32(8e-10)]);
    return g.op1('Sub', [g.f32(1), mean(g, g.op1('Div', [num, den]))]);
  },
};
