import type { OpDef } from './types';
import { sameShape } from './elementwise';

// softplus(x) = log(1 + e^x); d softplus = dy * sigmoid(x)
export const Softplus: OpDef = {
  shape: sameShape,
  grad: ({ g, inputs: [x], dOut: [dy] }) => [g.op1('Mul', [dy!, g.op1('Sigmoid', [x!])])],
};
