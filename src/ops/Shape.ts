import type { Graph, Shape as S, Value } from '../onnx/graph';
import { int, op } from './types';
import { UNARY, type Unary } from './elementwise';

/** Shape carries no gradient (its output is int64). */
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
  /**
   * dData[i] = sum over j with indices[j] = i of dy[j] (a repeated index adds), as a one-hot product:
   * dData = onehot(indices)^T dy with onehot[j, i] = (indices[j] == i), dy flattened to [k, rest].
   * Axis 0 and 1-D indices only (what a rule has needed so far); other forms are refused, never dropped.
   */
  grad: ({ g, inputs: [d, idx], attrs, dy }) => {
    const axis = int(attrs, 'axis', 0);
    const dims = d.shape.every((x): x is number => typeof x === 'number') ? d.shape : null;
    const k = idx.shape.length === 1 ? idx.shape[0] : undefined;
    if (axis !== 0 || !dims || typeof k !== 'number')
      throw new Error(`Gather ${dy.name}: the gradient rule covers axis 0, 1-D indices and static shapes; found axis ${axis}, data [${d.shape.join(', ')}], indices [${idx.shape.join(', ')}]: extend src/ops/Shape.ts`);
    const n = dims[0];
    const rest = dims.slice(1).reduce((a, b) => a * b, 1);
    const hit = g.op1('Equal', [g.op1('Unsqueeze', [idx, g.i64([1])]), g.i64(Array.from({ length: n }, (_, i) => i))]);
    const onehot = g.op1('Cast', [hit], { to: 1 });
    const dFlat = g.op1('MatMul', [g.op1('Transpose', [onehot], { perm: [1, 0] }), g.op1('Reshape', [dy, g.i64([k, rest])])]);
    return [g.op1('Reshape', [dFlat, g.i64([...dims])]), null];
  },
});

/** The static shape a shape-vector value stands for: a constant, or Shape(x) of a known x. */
export function shapeOperand(v: Value, g: Graph): S | undefined {
  const c = g.constInts(v);
  if (c) return c;
  const p = g.producerOf(v.name);
  if (p && p.op === 'Shape') return [...g.value(p.inputs[0]).shape];
  return undefined;
}
