import type { OpDef } from './types';
import { sameShape } from './elementwise';

// d exp(x) = dy * y
export const Exp: OpDef = {
  shape: sameShape,
  grad: ({ g, outputs: [y], dOut: [dy] }) => [g.op1('Mul', [dy!, y])],
};
