import { op } from './types';
import { sameShape, UNARY, type Unary } from './elementwise';

// softplus(x) = log(1 + e^x); d softplus = dy * sigmoid(x)
export const Softplus = op<Unary>({
  inputs: UNARY,
  shape: sameShape,
  grad: ({ g, inputs: [x], dy }) => [g.op1('Mul', [dy, g.op1('Sigmoid', [x])])],
});
