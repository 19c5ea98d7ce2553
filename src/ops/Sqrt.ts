import { op } from './types';
import { sameShape, UNARY, type Unary } from './elementwise';

// d sqrt(x) = dy / (2 y)
export const Sqrt = op<Unary>({
  inputs: UNARY,
  shape: sameShape,
  grad: ({ g, outputs: [y], dy }) => [g.op1('Div', [dy, g.op1('Mul', [y, g.f32(2)])])],
});
