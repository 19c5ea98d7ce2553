import type { OpDef } from './types';
import { sameShape } from './elementwise';

// d (1/x) = -dy * y^2
export const Reciprocal: OpDef = {
  shape: sameShape,
  grad: ({ g, outputs: [y], dOut: [dy] }) => [g.op1('Neg', [g.op1('Mul', [dy!, g.op1('Mul', [y, y])])])],
};
