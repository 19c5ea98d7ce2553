import type { Value } from '../onnx/graph';
import type { OpDef } from './types';
import { normAxes } from './shapes';

// d concat(x1..xk) = split(dy) along the same axis, at the inputs' (static) sizes.
export const Concat: OpDef = {
  shape: (inputs, attrs) => {
    const xs = inputs as Value[];
    const axis = normAxes([attrs.axis as number], xs[0].shape.length)[0];
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
  grad: ({ g, inputs, attrs, dOut: [dy] }) => {
    const xs = inputs as Value[];
    const axis = normAxes([attrs.axis as number], xs[0].shape.length)[0];
    const sizes = xs.map((x) => x.shape[axis]);
    if (!sizes.every((s) => typeof s === 'number')) throw new Error('Concat: gradient needs static sizes along the axis');
    return g.op('Split', [dy!, g.i64(sizes as number[])], { axis });
  },
};

export const Split: OpDef = {
  shape: ([x, split], attrs, g) => {
    const axis = normAxes([(attrs.axis as number) ?? 0], x!.shape.length)[0];
    const sizes = g.constInts(split!);
    if (!sizes) throw new Error('Split: sizes must be a constant');
    return sizes.map((s) => {
      const sh = [...x!.shape];
      sh[axis] = s;
      return { shape: sh, dtype: x!.dtype };
    });
  },
  grad: ({ g, attrs, outputs, dOut }) => {
    const parts = dOut.map((d, i) => d ?? g.op1('Mul', [outputs[i], g.f32(0)]));
    return [g.op1('Concat', parts, { axis: attrs.axis ?? 0 }), null];
  },
};
