import type { OpDef } from './types';
import { sameShape } from './elementwise';

// d |x| = dy * sign(x)
export const Abs: OpDef = {
  shape: sameShape,
  grad: ({ g, inputs: [x], dOut: [dy] }) => [g.op1('Mul', [dy!, g.op1('Sign', [x!])])],
};

export const Sign: OpDef = { shape: sameShape, grad: () => [null] };
