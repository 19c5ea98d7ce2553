import { ints, op } from './types';
import { UNARY, type Unary } from './elementwise';

const reversed = (rank: number) => Array.from({ length: rank }, (_, i) => rank - 1 - i);

// d transpose(x, p) = transpose(dy, inverse(p))
export const Transpose = op<Unary>({
  inputs: UNARY,
  shape: ([x], attrs) => {
    const perm = ints(attrs, 'perm', reversed(x.shape.length));
    return [{ shape: perm.map((p) => x.shape[p]), dtype: x.dtype }];
  },
  grad: ({ g, inputs: [x], attrs, dy }) => {
    const perm = ints(attrs, 'perm', reversed(x.shape.length));
    return [g.op1('Transpose', [dy], { perm: perm.map((_, i) => perm.indexOf(i)) })];
  },
});
