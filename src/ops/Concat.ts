import type { Value } from '../onnx/graph';
import { int, op } from './types';
import { normAxis } from './shapes';

// d concat(x1..xk) = split(dy) along the same axis, at the inputs' (static) sizes.
export const Concat = op<Value[]>({
  inputs: ['inputs...'],
  shape: (xs, attrs) => {
    const axis = normAxis(int(attrs, 'axis', 0), xs[0].shape.length);
    const out = [...xs[0].shape];
    let total: number | string = 0;
    for (const x of xs) {
      const d = x.shape[axis];
      if (typeof d !== 'number' || typeof total !== 'number') total = '?';
      else total += d;
    }
    out[axis] = total;
    return [{ shape: out, dtype: xs[0].dtype }];
  },
  grad: ({ g, inputs: xs, attrs, dy }) => {
    const axis = normAxis(int(attrs, 'axis', 0), xs[0].shape.length);
    const sizes = xs.map((x) => x.shape[axis]);
    if (!sizes.every((s): s is number => typeof s === 'number')) throw new Error('Concat: gradient needs static sizes along the axis');
    return g.op('Split', [dy, g.i64(sizes)], { axis });
  },
});

// d split(x) = concat(dy_1..dy_k), with zeros for the parts no gradient reaches.
export const Split = op<[x: Value, split: Value]>({
  inputs: ['input', 'split'],
  shape: ([x, split], attrs, g) => {
    const axis = normAxis(int(attrs, 'axis', 0), x.shape.length);
    const sizes = g.constInts(split);
    if (!sizes) throw new Error('Split: sizes must be a constant');
    return sizes.map((s) => {
      const sh = [...x.shape];
      sh[axis] = s;
      return { shape: sh, dtype: x.dtype };
    });
  },
  gradOutputs: ({ g, attrs, outputs, dOut }) => {
    const parts = dOut.map((d, i) => d ?? g.op1('Mul', [outputs[i], g.f32(0)]));
    return [g.op1('Concat', parts, { axis: int(attrs, 'axis', 0) }), null];
  },
});
