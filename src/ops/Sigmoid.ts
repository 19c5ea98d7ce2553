import { op } from './types';
import { sameShape, UNARY, type Unary } from './elementwise';

// d sigmoid(x) = dy * y * (1 - y)
export const Sigmoid = op<Unary>({
  inputs: UNARY,
  shape: sameShape,
  grad: ({ g, outputs: [y], dy }) => [g.op1('Mul', [dy, g.op1('Mul', [y, g.op1('Sub', [g.f32(1), y])])])],
});
