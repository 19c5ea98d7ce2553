import type { OpDef } from './types';
import { sameShape } from './elementwise';

// d sqrt(x) = dy / (2 y)
export const Sqrt: OpDef = {
  shape: sameShape,
  grad: ({ g, outputs: [y], dOut: [dy] }) => [g.op1('Div', [dy!, g.op1('Mul', [y, g.f32(2)])])],
};
