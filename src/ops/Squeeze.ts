import type { Graph, Value } from '../onnx/graph';
import { op } from './types';
import { normAxes, reshapeTarget } from './shapes';

type XAxes = [x: Value, axes: Value];

function constAxes(g: Graph, axes: Value, op: string): number[] {
  const a = g.constInts(axes);
  if (!a) throw new Error(`${op}: axes must be a constant`);
  return a;
}

// Opset 13+: axes is an input. The gradient reshapes dy back to the input's shape.
export const Unsqueeze = op<XAxes>({
  inputs: ['data', 'axes'],
  shape: ([x, axes], _a, g) => {
    const given = constAxes(g, axes, 'Unsqueeze');
    const rank = x.shape.length + given.length;
    const ax = normAxes(given, rank);
    const out = [];
    let k = 0;
    for (let i = 0; i < rank; i++) out.push(ax.includes(i) ? 1 : x.shape[k++]);
    return [{ shape: out, dtype: x.dtype }];
  },
  grad: ({ g, inputs: [x], dy }) => [g.op1('Reshape', [dy, reshapeTarget(g, x)]), null],
});

export const Squeeze = op<XAxes>({
  inputs: ['data', 'axes'],
  shape: ([x, axes], _a, g) => {
    const ax = normAxes(constAxes(g, axes, 'Squeeze'), x.shape.length);
    return [{ shape: x.shape.filter((_, i) => !ax.includes(i)), dtype: x.dtype }];
  },
  grad: ({ g, inputs: [x], dy }) => [g.op1('Reshape', [dy, reshapeTarget(g, x)]), null],
});
