import { op } from './types';
import { sameShape, UNARY, type Unary } from './elementwise';

export const Neg = op<Unary>({
  inputs: UNARY,
  shape: sameShape,
  grad: ({ g, dy }) => [g.op1('Neg', [dy])],
});
