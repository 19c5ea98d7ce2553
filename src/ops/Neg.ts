import type { OpDef } from './types';
import { sameShape } from './elementwise';

export const Neg: OpDef = {
  shape: sameShape,
  grad: ({ g, dOut: [dy] }) => [g.op1('Neg', [dy!])],
};
