import { op } from './types';
import { BINARY, broadcastShape, type Binary } from './elementwise';
import { unbroadcast } from './shapes';

// d(a*b) = (dy*b, dy*a)
export const Mul = op<Binary>({
  inputs: BINARY,
  shape: broadcastShape,
  grad: ({ g, inputs: [a, b], dy }) => [
    unbroadcast(g, g.op1('Mul', [dy, b]), a.shape),
    unbroadcast(g, g.op1('Mul', [dy, a]), b.shape),
  ],
});
