import type { OpDef } from './types';
import { sameShape } from './elementwise';

// d sigmoid(x) = dy * y * (1 - y)
export const Sigmoid: OpDef = {
  shape: sameShape,
  grad: ({ g, outputs: [y], dOut: [dy] }) => [g.op1('Mul', [dy!, g.op1('Mul', [y, g.op1('Sub', [g.f32(1), y])])])],
};
