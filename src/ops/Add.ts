import { op } from './types';
import { BINARY, broadcastShape, type Binary } from './elementwise';
import { unbroadcast } from './shapes';

// d(a+b) = (dy, dy), each summed back to its input's shape.
export const Add = op<Binary>({
  inputs: BINARY,
  shape: broadcastShape,
  grad: ({ g, inputs: [a, b], dy }) => [unbroadcast(g, dy, a.shape), unbroadcast(g, dy, b.shape)],
});
