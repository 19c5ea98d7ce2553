import { op } from './types';
import { sameShape, UNARY, type Unary } from './elementwise';

// d tanh(x) = dy * (1 - y^2)
export const Tanh = op<Unary>({
  inputs: UNARY,
  shape: sameShape,
  grad: ({ g, outputs: [y], dy }) => [g.op1('Mul', [dy, g.op1('Sub', [g.f32(1), g.op1('Mul', [y, y])])])],
});
