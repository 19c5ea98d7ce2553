import { op } from './types';
import { sameShape, UNARY, type Unary } from './elementwise';

// d relu(x) = dy * (y > 0); reading y lets the forward input be freed.
export const Relu = op<Unary>({
  inputs: UNARY,
  shape: sameShape,
  grad: ({ g, outputs: [y], dy }) => [g.op1('Where', [g.op1('Greater', [y, g.f32(0)]), dy, g.f32(0)])],
});
