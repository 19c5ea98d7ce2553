import { op } from './types';
import { sameShape, UNARY, type Unary } from './elementwise';

// d exp(x) = dy * y
export const Exp = op<Unary>({
  inputs: UNARY,
  shape: sameShape,
  grad: ({ g, outputs: [y], dy }) => [g.op1('Mul', [dy, y])],
});
