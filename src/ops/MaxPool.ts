import type { Value } from '../onnx/graph';
import type { OpDef } from './types';
import { unsupported } from './types';
import { convOut } from './conv-attrs';
import { shapeOperand } from './Shape';

/**
 * MaxPool always exposes its Indices output (flat positions in x, as the spec defines them) so that
 * the gradient routes dy back to the argmax of each window with MaxUnpool, as PyTorch does (ties go
 * to one element, not all of them).
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
  grad: ({ g, inputs: [x], outputs: [, idx], attrs, dOut: [dy] }) => {
    const k = attrs.kernel_shape as number[];
    const s = (attrs.strides as number[]) ?? [1, 1];
    const overlap = k.some((kk, i) => kk > s[i]);
    if (overlap) unsupported('MaxPool', 'overlapping windows (kernel > stride) in the gradient', { k, s });
    return [g.op1('MaxUnpool', [dy!, idx, g.op1('Shape', [x!])], { kernel_shape: k, strides: s }, 'dx')];
  },
};

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
