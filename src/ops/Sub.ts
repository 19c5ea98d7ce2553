import type { OpDef } from './types';
import { broadcastShape } from './elementwise';
import { unbroadcast } from './shapes';

// d(a-b) = (dy, -dy)
export const Sub: OpDef = {
  shape: broadcastShape,
  grad: ({ g, inputs: [a, b], dOut: [dy] }) => [
    unbroadcast(g, dy!, a!.shape),
    unbroadcast(g, g.op1('Neg', [dy!]), b!.shape),
  ],
};
