import { op } from './types';
import { BINARY, broadcastShape, type Binary } from './elementwise';
import { unbroadcast } from './shapes';

// d(a/b) = (dy/b, -dy*y/b) with y = a/b
export const Div = op<Binary>({
  inputs: BINARY,
  shape: broadcastShape,
  grad: ({ g, inputs: [a, b], outputs: [y], dy }) => {
    const da = g.op1('Div', [dy, b]);
    const db = g.op1('Neg', [g.op1('Mul', [da, y])]);
    return [unbroadcast(g, da, a.shape), unbroadcast(g, db, b.shape)];
  },
});
