import type { Value } from '../onnx/graph';
import { op, str, unsupported } from './types';
import { staticDim } from './shapes';

// Opset 13+: pads is an input. d pad(x) = the slice of dy that x occupies.
export const Pad = op<[x: Value, pads: Value, value: Value | null]>({
  inputs: ['data', 'pads', 'constant_value?'],
  shape: ([x, pads], _attrs, g) => {
    const p = g.constInts(pads);
    if (!p) throw new Error('pads must be a constant');
    const r = x.shape.length;
    return [{ shape: x.shape.map((d, i) => (p[i] === 0 && p[i + r] === 0 ? d : staticDim(d, 'Pad') + p[i] + p[i + r])), dtype: x.dtype }];
  },
  grad: ({ g, inputs: [x, pads], attrs, dy }) => {
    if (str(attrs, 'mode', 'constant') !== 'constant') unsupported('Pad', 'mode', attrs.mode);
    const p = g.constInts(pads) ?? [];
    const r = x.shape.length;
    const axes: number[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    for (let i = 0; i < r; i++) {
      if (p[i] === 0 && p[i + r] === 0) continue;
      axes.push(i);
      starts.push(p[i]);
      ends.push(p[i] + staticDim(x.shape[i], 'Pad'));
    }
    return [g.op1('Slice', [dy, g.i64(starts), g.i64(ends), g.i64(axes)]), null, null];
  },
});
