import type { OpDef } from './types';

// d transpose(x, p) = transpose(dy, inverse(p))
export const Transpose: OpDef = {
  shape: ([x], attrs) => {
    const perm = (attrs.perm as number[]) ?? x!.shape.map((_, i) => x!.shape.length - 1 - i);
    return [{ shape: perm.map((p) => x!.shape[p]), dtype: x!.dtype }];
  },
  grad: ({ g, inputs: [x], attrs, dOut: [dy] }) => {
    const perm = (attrs.perm as number[]) ?? x!.shape.map((_, i) => x!.shape.length - 1 - i);
    const inv = perm.map((_, i) => perm.indexOf(i));
    return [g.op1('Transpose', [dy!], { perm: inv })];
  },
};
