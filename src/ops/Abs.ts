import { op } from './types';
import { sameShape, UNARY, type Unary } from './elementwise';

// d |x| = dy * sign(x)
export const Abs = op<Unary>({
  inputs: UNARY,
  shape: sameShape,
  grad: ({ g, inputs: [x], dy }) => [g.op1('Mul', [dy, g.op1('Sign', [x])])],
});

export const Sign = op<Unary>({ inputs: UNARY, shape: sameShape, grad: () => [null] });
