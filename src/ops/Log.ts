import type { OpDef } from './types';
import { sameShape } from './elementwise';

// d log(x) = dy / x
export const Log: OpDef = {
  shape: sameShape,
  grad: ({ g, inputs: [x], dOut: [dy] }) => [g.op1('Div', [dy!, x!])],
};
