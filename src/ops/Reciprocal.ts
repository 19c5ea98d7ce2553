import { op } from './types';
import { sameShape, UNARY, type Unary } from './elementwise';

// d (1/x) = -dy * y^2
export const Reciprocal = op<Unary>({
  inputs: UNARY,
  shape: sameShape,
  grad: ({ g, outputs: [y], dy }) => [g.op1('Neg', [g.op1('Mul', [dy, g.op1('Mul', [y, y])])])],
});
