import type { OpDef } from './types';
import { broadcastShape } from './elementwise';
import { unbroadcast } from './shapes';

// d(a*b) = (dy*b, dy*a)
export const Mul: OpDef = {
  shape: broadcastShape,
  grad: ({ g, inputs: [a, b], dOut: [dy] }) => [
    unbroadcast(g, g.op1('Mul', [dy!, b!]), a!.shape),
    unbroadcast(g, g.op1('Mul', [dy!, a!]), b!.shape),
  ],
};
