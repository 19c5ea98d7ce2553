import type { Dim } from '../onnx/graph';
import type { OpDef } from './types';
import { normAxes } from './shapes';

/** Static slice length of ONNX Slice along one dim (the spec's clamping rules). */
function sliceLen(dim: number, start: number, end: number, step: number): number {
  const clampS = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = clampS(s, 0, dim);
    e = clampS(e, 0, dim);
    return Math.max(0, Math.ceil((e - s) / step));
  }
  s = clampS(s, 0, dim - 1);
  e = clampS(e, -1, dim - 1);
  return Math.max(0, Math.ceil((e - s) / step));
}

function params(g: import('../onnx/graph').Graph, inputs: (import('../onnx/graph').Value | null | undefined)[], rank: number) {
  const [, st, en, ax, sp] = inputs;
  const starts = g.constInts(st!)!;
  const ends = g.constInts(en!)!;
  const axes = ax ? normAxes(g.constInts(ax)!, rank) : starts.map((_, i) => i);
  const steps = sp ? g.constInts(sp)! : starts.map(() => 1);
  if (!starts || !ends) throw new Error('Slice: starts and ends must be constants');
  return { starts, ends, axes, steps };
}

// d slice(x) = dy zero-padded back into x's shape (unit steps).
export const Slice: OpDef = {
  shape: (inputs, _a, g) => {
    const x = inputs[0]!;
    const { starts, ends, axes, steps } = params(g, inputs, x.shape.length);
    const out: Dim[] = [...x.shape];
    axes.forEach((a, i) => {
      const d = x.shape[a];
      if (typeof d !== 'number') {
        if (starts[i] === 0 && ends[i] >= 2 ** 62 && steps[i] === 1) return;
        throw new Error(`Slice: symbolic dim '${d}' on axis ${a}`);
      }
      out[a] = sliceLen(d, starts[i], ends[i], steps[i]);
    });
    return [{ shape: out, dtype: x.dtype }];
  },
  grad: ({ g, inputs, outputs: [y], dOut: [dy] }) => {
    const x = inputs[0]!;
    const rank = x.shape.length;
    const { starts, axes, steps } = params(g, inputs, rank);
    const pads = new Array(2 * rank).fill(0);
    axes.forEach((a, i) => {
      if (steps[i] !== 1) throw new Error(`Slice: gradient of step ${steps[i]} is not supported`);
      const d = x.shape[a] as number;
      const s = Math.min(Math.max(starts[i] < 0 ? starts[i] + d : starts[i], 0), d);
      pads[a] = s;
      pads[a + rank] = d - s - (y.shape[a] as number);
    });
    return [g.op1('Pad', [dy!, g.i64(pads)], { mode: 'constant' }), null, null, null, null];
  },
};
