import type { Graph, Value } from '../onnx/graph';
import type { OpDef } from './types';
import { unsupported } from './types';
import { convOut } from './conv-attrs';
import { shapeOperand } from './Shape';

/**
 * The gradient routes dy back to the argmax of each window, as PyTorch does (ties go to one element,
 * not all of them): for 2x2 stride-2 windows by comparisons (firstMaxGrad, the default, which every
 * GPU provider runs), otherwise, or with lowering maxPoolGrad 'unpool', with MaxUnpool and the
 * Indices output (flat positions in x, as the spec defines them) that MaxPool always exposes.
 */
export const MaxPool: OpDef = {
  shape: ([x], attrs) => {
    const k = attrs.kernel_shape as number[];
    const s = (attrs.strides as number[]) ?? [1, 1];
    const p = (attrs.pads as number[]) ?? [0, 0, 0, 0];
    if (attrs.ceil_mode) unsupported('MaxPool', 'ceil_mode', attrs.ceil_mode);
    const H = convOut(x!.shape[2] as number, k[0], s[0], 1, p[0], p[2]);
    const W = convOut(x!.shape[3] as number, k[1], s[1], 1, p[1], p[3]);
    const shape = [x!.shape[0], x!.shape[1], H, W];
    return [{ shape, dtype: x!.dtype }, { shape, dtype: 'int64' }];
  },
  grad: ({ g, inputs: [x], outputs: [y, idx], attrs, dOut: [dy] }) => {
    const k = attrs.kernel_shape as number[];
    const s = (attrs.strides as number[]) ?? [1, 1];
    const overlap = k.some((kk, i) => kk > s[i]);
    if (overlap) unsupported('MaxPool', 'overlapping windows (kernel > stride) in the gradient', { k, s });
    const [H, W] = [x!.shape[2], x!.shape[3]];
    const pads = (attrs.pads as number[] | undefined) ?? [0, 0, 0, 0];
    const twoByTwo = k[0] === 2 && k[1] === 2 && s[0] === 2 && s[1] === 2 && pads.every((p) => p === 0) && H === 2 * (y!.shape[2] as number) && W === 2 * (y!.shape[3] as number);
    if ((g.lowering.maxPoolGrad ?? 'mask') === 'mask' && twoByTwo) return [firstMaxGrad(g, x!, y!, dy!)];
    return [g.op1('MaxUnpool', [dy!, idx, g.op1('Shape', [x!])], { kernel_shape: k, strides: s }, 'dx')];
  },
};

/**
 * 2x2 stride-2 windows: dy to the first maximum of each window in row-major order (as PyTorch and
 * MaxUnpool with MaxPool's indices), from comparisons instead of MaxUnpool, which neither the CUDA
 * nor the WebGPU provider implements (src/onnx/providers.ts). With x_pq = x[.., p::2, q::2] and
 * e_pq = [x_pq >= y]: m00 = e00, m01 = e01 (1 - m00), m10 = e10 (1 - m00 - m01), m11 = the rest;
 * dx = DepthToSpace(concat(dy m00, dy m01, dy m10, dy m11)), whose DCR order interleaves them back.
 */
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

export const MaxUnpool: OpDef = {
  shape: ([x, , outShape], _a, g) => {
    const t = shapeOperand(outShape as Value, g);
    if (!t) throw new Error('MaxUnpool: output_shape must be Shape(x) or a constant');
    return [{ shape: t, dtype: x!.dtype }];
  },
};

export const AveragePool: OpDef = {
  shape: ([x], attrs) => {
    const k = attrs.kernel_shape as number[];
    const s = (attrs.strides as number[]) ?? [1, 1];
    const p = (attrs.pads as number[]) ?? [0, 0, 0, 0];
    const H = convOut(x!.shape[2] as number, k[0], s[0], 1, p[0], p[2]);
    const W = convOut(x!.shape[3] as number, k[1], s[1], 1, p[1], p[3]);
    return [{ shape: [x!.shape[0], x!.shape[1], H, W], dtype: x!.dtype }];
  },
};
