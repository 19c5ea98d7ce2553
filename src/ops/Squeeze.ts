import type { OpDef } from './types';
import { normAxes, reshapeTarget } from './shapes';

// Opset 13+: axes is an input. The gradient reshapes dy back to the input's shape.
export const Unsqueeze: OpDef = {
  shape: ([x, axes], _a, g) => {
    const rank = x!.shape.length + g.constInts(axes!)!.length;
    const ax = normAxes(g.constInts(axes!)!, rank);
    const out = [];
    let k = 0;
    for (let i = 0; i < rank; i++) out.push(ax.includes(i) ? 1 : x!.shape[k++]);
    return [{ shape: out, dtype: x!.dtype }];
  },
  grad: ({ g, inputs: [x], dOut: [dy] }) => [g.op1('Reshape', [dy!, reshapeTarget(g, x!)]), null],
};

export const Squeeze: OpDef = {
  shape: ([x, axes], _a, g) => {
    const ax = normAxes(g.constInts(axes!)!, x!.shape.length);
    return [{ shape: x!.shape.filter((_, i) => !ax.includes(i)), dtype: x!.dtype }];
  },
  grad: ({ g, inputs: [x], dOut: [dy] }) => [g.op1('Reshape', [dy!, reshapeTarget(g, x!)]), null],
};
