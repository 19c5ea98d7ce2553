import type { Dim, Graph, Value } from '../onnx/graph';
import { op } from './types';
import { normAxes, staticDim } from './shapes';

/** Static slice length of ONNX Slice along one dim (the spec's clamping rules). */
function sliceLen(dim: number, start: number, end: number, step: number): number {
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  const s = start < 0 ? start + dim : start;
  const e = end < 0 ? end + dim : end;
  if (step > 0) return Math.max(0, Math.ceil((clamp(e, 0, dim) - clamp(s, 0, dim)) / step));
  return Math.max(0, Math.ceil((clamp(e, -1, dim - 1) - clamp(s, 0, dim - 1)) / step));
}

type SliceOperands = [x: Value, starts: Value, ends: Value, axes: Value | null, steps: Value | null];

function params(g: Graph, [x, st, en, ax, sp]: SliceOperands) {
  const starts = g.constInts(st);
  const ends = g.constInts(en);
  if (!starts || !ends) throw new Error('Slice: starts and ends must be constants');
  const given = (v: Value | null, what: string) => {
    if (!v) return undefined;
    const c = g.constInts(v);
    if (!c) throw new Error(`Slice: ${what} must be a constant`);
    return c;
  };
  const axes = normAxes(given(ax, 'axes') ?? starts.map((_, i) => i), x.shape.length);
  const steps = given(sp, 'steps') ?? starts.map(() => 1);
  return { starts, ends, axes, steps };
}

const END = 2 ** 62;

// d slice(x) = dy zero-padded back into x's shape (unit steps).
export const Slice = op<SliceOperands>({
  inputs: ['data', 'starts', 'ends', 'axes?', 'steps?'],
  shape: (inputs, _a, g) => {
    const x = inputs[0];
    const { starts, ends, axes, steps } = params(g, inputs);
    const out: Dim[] = [...x.shape];
    axes.forEach((a, i) => {
      const d = x.shape[a];
      // a whole symbolic axis: kept as is
      if (typeof d !== 'number' && starts[i] === 0 && ends[i] >= END && steps[i] === 1) return;
      out[a] = sliceLen(staticDim(d, 'Slice'), starts[i], ends[i], steps[i]);
    });
    return [{ shape: out, dtype: x.dtype }];
  },
  grad: ({ g, inputs, outputs: [y], dy }) => {
    const x = inputs[0];
    const rank = x.shape.length;
    const { starts, axes, steps } = params(g, inputs);
    const pads = new Array<number>(2 * rank).fill(0);
    axes.forEach((a, i) => {
      if (steps[i] !== 1) throw new Error(`Slice: gradient of step ${steps[i]} is not supported`);
      const d = staticDim(x.shape[a], 'Slice');
      const s = Math.min(Math.max(starts[i] < 0 ? starts[i] + d : starts[i], 0), d);
      pads[a] = s;
      pads[a + rank] = d - s - staticDim(y.shape[a], 'Slice');
    });
    return [g.op1('Pad', [dy, g.i64(pads)], { mode: 'constant' }), null, null, null, null];
  },
});
