import type { OpDef } from './types';
import { sameShape } from './elementwise';

// d relu(x) = dy * (y > 0); reading y lets the forward input be freed.
export const Relu: OpDef = {
  shape: sameShape,
  grad: ({ g, outputs: [y], dOut: [dy] }) => [g.op1('Where', [g.op1('Greater', [y, g.f32(0)]), dy!, g.f32(0)])],
};
