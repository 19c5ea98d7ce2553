import type { OpDef } from './types';
import { unsupported } from './types';

// Opset 13+: pads is an input. d pad(x) = the slice of dy that x occupies.
export const Pad: OpDef = {
  shape: ([x, pads], attrs, g) => {
    const p = g.constInts(pads!);
    if (!p) throw new Error('pads must be a constant');
    const r = x!.shape.length;
    return [{ shape: x!.shape.map((d, i) => (p[i] === 0 && p[i + r] === 0 ? d : (d as number) + p[i] + p[i + r])), dtype: x!.dtype }];
  },
  grad: ({ g, inputs: [x, pads], attrs, dOut: [dy] }) => {
    if ((attrs.mode ?? 'constant') !== 'constant') unsupported('Pad', 'mode', attrs.mode);
    const p = g.constInts(pads!)!;
    const r = x!.shape.length;
    const axes: number[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    for (let i = 0; i < r; i++) {
      if (p[i] === 0 && p[i + r] === 0) continue;
      axes.push(i);
      starts.push(p[i]);
      ends.push(p[i] + (x!.shape[i] as number));
    }
    return [g.op1('Slice', [dy!, g.i64(starts), g.i64(ends), g.i64(axes)]), null, null];
  },
};
