import type { Value } from '../onnx/graph';
import type { OpDef } from './types';

/** Shape and Gather are used on shape vectors only: they carry no gradient. */
export const Shape: OpDef = {
  shape: ([x]) => [{ shape: [x!.shape.length], dtype: 'int64' }],
  grad: () => [null],
};

export const Gather: OpDef = {
  shape: ([data, idx], attrs) => {
    const axis = (attrs.axis as number) ?? 0;
    const d = data as Value;
    return [{ shape: [...d.shape.slice(0, axis), ...idx!.shape, ...d.shape.slice(axis + 1)], dtype: d.dtype }];
  },
  grad: () => [null, null],
};

/** The static shape a shape-vector value stands for: a constant, or Shape(x) of a known x. */
export function shapeOperand(v: Value, g: import('../onnx/graph').Graph): import('../onnx/graph').Shape | undefined {
  const c = g.constInts(v);
  if (c) return c;
  const p = g.producerOf(v.name);
  if (p && p.op === 'Shape') return [...g.value(p.inputs[0]).shape];
  return undefined;
}
