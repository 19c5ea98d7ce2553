import type { Graph, Shape as S, Value } from '../onnx/graph';
import { int, op } from './types';
import { UNARY, type Unary } from './elementwise';

/** Shape and Gather are used on shape vectors only: they carry no gradient. */
export const Shape = op<Unary>({
  inputs: UNARY,
  shape: ([x]) => [{ shape: [x.shape.length], dtype: 'int64' }],
  grad: () => [null],
});

export const Gather = op<[data: Value, indices: Value]>({
  inputs: ['data', 'indices'],
  shape: ([d, idx], attrs) => {
    const axis = int(attrs, 'axis', 0);
    return [{ shape: [...d.shape.slice(0, axis), ...idx.shape, ...d.shape.slice(axis + 1)], dtype: d.dtype }];
  },
  grad: () => [null, null],
});

/** The static shape a shape-vector value stands for: a constant, or Shape(x) of a known x. */
export function shapeOperand(v: Value, g: Graph): S | undefined {
  const c = g.constInts(v);
  if (c) return c;
  const p = g.producerOf(v.name);
  if (p && p.op === 'Shape') return [...g.value(p.inputs[0]).shape];
  return undefined;
}
