import { op } from './types';
import { sameShape, UNARY, type Unary } from './elementwise';

// d log(x) = dy / x
export const Log = op<Unary>({
  inputs: UNARY,
  shape: sameShape,
  grad: ({ g, inputs: [x], dy }) => [g.op1('Div', [dy, x])],
});
