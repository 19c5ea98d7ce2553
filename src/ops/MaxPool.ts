import type { Attrs, Value } from '../onnx/graph';
import { int, ints, intsRequired, op, unsupported } from './types';
import { UNARY, type Unary } from './elementwise';
import { convOut } from './conv-attrs';
import { shapeOperand } from './Shape';
import { spatial } from './shapes';

/** Output shape of a 2-D pooling window. */
function pooled(opName: string, x: Value, attrs: Attrs) {
  const k = intsRequired(opName, attrs, 'kernel_shape');
  const s = ints(attrs, 'strides', [1, 1]);
  const p = ints(attrs, 'pads', [0, 0, 0, 0]);
  const [h, w] = spatial(x, opName);
  return [x.shape[0], x.shape[1], convOut(h, k[0], s[0], 1, p[0], p[2]), convOut(w, k[1], s[1], 1, p[1], p[3])];
}

/**
 * The gradient routes dy back to the argmax of each window, as PyTorch does (ties go to one element,
 * not all of them): MaxUnpool with the Indices output (flat positions in x, as the spec defines
 * them) that MaxPool always exposes. Neither GPU provider implements MaxUnpool: their pipelines
 * rewrite it into comparisons (src/passes/maxpool-grad.ts).
 */
export const MaxPool = op<Unary>({
  inputs: UNARY,
  shape: ([x], attrs) => {
    if (int(attrs, 'ceil_mode', 0)) unsupported('MaxPool', 'ceil_mode', attrs.ceil_mode);
    const shape = pooled('MaxPool', x, attrs);
    return [{ shape, dtype: x.dtype }, { shape, dtype: 'int64' }];
  },
  grad: ({ g, inputs: [x], outputs: [, idx], attrs, dy }) => {
    const k = intsRequired('MaxPool', attrs, 'kernel_shape');
    const s = ints(attrs, 'strides', [1, 1]);
    if (k.some((kk, i) => kk > s[i])) unsupported('MaxPool', 'overlapping windows (kernel > stride) in the gradient', { k, s });
    const pads = ints(attrs, 'pads', [0, 0, 0, 0]);
    const unpool = { kernel_shape: k, strides: s, ...(pads.some((p) => p) ? { pads } : {}) };
    return [g.op1('MaxUnpool', [dy, idx, g.op1('Shape', [x])], unpool, 'dx')];
  },
});

export const MaxUnpool = op<[x: Value, indices: Value, outputShape: Value | null]>({
  inputs: ['X', 'I', 'output_shape?'],
  shape: ([x, , outShape], _a, g) => {
    const t = outShape && shapeOperand(outShape, g);
    if (!t) throw new Error('MaxUnpool: output_shape must be Shape(x) or a constant');
    return [{ shape: t, dtype: x.dtype }];
  },
});

export const AveragePool = op<Unary>({
  inputs: UNARY,
  shape: ([x], attrs) => [{ shape: pooled('AveragePool', x, attrs), dtype: x.dtype }],
});
