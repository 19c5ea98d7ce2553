/**
 * Rewrite (after gradients): MaxPool's gradient, MaxUnpool(dy, indices, Shape(x)) for 2x2 stride-2
 * windows, as comparisons, which every GPU provider runs (neither CUDA's nor WebGPU's implements
 * MaxUnpool: src/onnx/providers.ts). dy still goes to the first maximum of each window in row-major
 * order, as MaxUnpool with MaxPool's indices and PyTorch do. With x_pq = x[.., p::2, q::2] and
 * e_pq = [x_pq >= y]: m00 = e00, m01 = e01 (1 - m00), m10 = e10 (1 - m00 - m01), m11 = the rest;
 * dx = DepthToSpace(concat(dy m00, dy m01, dy m10, dy m11)), whose DCR order interleaves them back.
 */
import type { Graph, Value } from '../onnx/graph';
import { ints } from '../ops/types';
import { operands, rewritePass, type RewriteRule } from './pass';

function firstMaxGrad(g: Graph, x: Value, y: Value, dy: Value): Value {
  const END = 2 ** 62;
  const quarter = (p: number, q: number) => g.op1('Slice', [x, g.i64([p, q]), g.i64([END, END]), g.i64([2, 3]), g.i64([2, 2])]);
  const atMax = (v: Value) => g.op1('Where', [g.op1('Less', [v, y]), g.f32(0), g.f32(1)]);
  const m00 = atMax(quarter(0, 0));
  const r1 = g.op1('Sub', [g.f32(1), m00]);
  const m01 = g.op1('Mul', [atMax(quarter(0, 1)), r1]);
  const r2 = g.op1('Sub', [r1, m01]);
  const m10 = g.op1('Mul', [atMax(quarter(1, 0)), r2]);
  const m11 = g.op1('Sub', [r2, m10]);
  const parts = [m00, m01, m10, m11].map((m) => g.op1('Mul', [dy, m]));
  return g.op1('DepthToSpace', [g.op1('Concat', parts, { axis: 1 })], { blocksize: 2 }, 'dx');
}

interface Match {
  dy: Value;
  /** the pooled input and output */
  x: Value;
  y: Value;
  pool: { k: number[]; s: number[]; pads: number[] };
}

const maxPoolGradByComparison: RewriteRule<Match> = {
  name: 'maxpool-grad-by-comparison',
  pattern: (g, n) => {
    if (n.op !== 'MaxUnpool') return undefined;
    const [dy, idx] = operands(g, n);
    const pool = idx && g.producerOf(idx.name);
    if (!dy || !pool || pool.op !== 'MaxPool' || pool.outputs[1] !== idx.name) return undefined;
    const [x] = operands(g, pool);
    if (!x) return undefined;
    const a = pool.attrs;
    return { dy, x, y: g.value(pool.outputs[0]), pool: { k: ints(a, 'kernel_shape', []), s: ints(a, 'strides', [1, 1]), pads: ints(a, 'pads', [0, 0, 0, 0]) } };
  },
  check: (_g, { x, y, pool }) =>
    pool.k.join() === '2,2' && pool.s.join() === '2,2' && pool.pads.every((p) => p === 0) &&
    x.shape[2] === 2 * Number(y.shape[2]) && x.shape[3] === 2 * Number(y.shape[3]),
  replacement: (g, { x, y, dy }) => [firstMaxGrad(g, x, y, dy)],
};

export const maxPoolGradByComparisonPass = rewritePass(maxPoolGradByComparison);
