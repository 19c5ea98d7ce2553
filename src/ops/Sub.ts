import { op } from './types';
import { BINARY, broadcastShape, type Binary } from './elementwise';
import { unbroadcast } from './shapes';

// d(a-b) = (dy, -dy)
export const Sub = op<Binary>({
  inputs: BINARY,
  shape: broadcastShape,
  grad: ({ g, inputs: [a, b], dy }) => [unbroadcast(g, dy, a.shape), unbroadcast(g, g.op1('Neg', [dy]), b.shape)],
});
