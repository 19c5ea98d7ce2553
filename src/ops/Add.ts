import type { OpDef } from './types';
import { broadcastShape } from './elementwise';
import { unbroadcast } from './shapes';

// d(a+b) = (dy, dy), each summed back to its input's shape.
export const Add: OpDef = {
  shape: broadcastShape,
  grad: ({ g, inputs: [a, b], dOut: [dy] }) => [unbroadcast(g, dy!, a!.shape), unbroadcast(g, dy!, b!.shape)],
};
