import { op } from './types';
import { sameShape, UNARY, type Unary } from './elementwise';

// d erf(x) = dy * 2/sqrt(pi) * exp(-x^2)
export const Erf = op<Unary>({
  inputs: UNARY,
  shape: sameShape,
  grad: ({ g, inputs: [x], dy }) => [g.op1('Mul', [dy, g.op1('Mul', [g.f32(2 / Math.sqrt(Math.PI)), g.op1('Exp', [g.op1('Neg', [g.op1('Mul', [x, x])])])])])],
});
