import type { Value } from '../onnx/graph';
import { op } from './types';
import { sameShape } from './elementwise';

// d clip(x, lo, hi) = dy where lo <= x <= hi (PyTorch's convention at the bounds), else 0.
export const Clip = op<[x: Value, lo: Value | null, hi: Value | null]>({
  inputs: ['input', 'min?', 'max?'],
  shape: ([x]) => sameShape([x]),
  grad: ({ g, inputs: [x, lo, hi], dy }) => {
    let pass = dy;
    const zero = g.f32(0);
    if (lo) pass = g.op1('Where', [g.op1('Less', [x, lo]), zero, pass]);
    if (hi) pass = g.op1('Where', [g.op1('Greater', [x, hi]), zero, pass]);
    return [pass, null, null];
  },
});
