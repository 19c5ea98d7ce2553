import type { Value } from '../onnx/graph';
import { op } from './types';
import { broadcastShape } from './elementwise';
import { unbroadcast } from './shapes';

// d(x^p)/dx = p*x^(p-1); the exponent must be a constant (no gradient flows to it).
export const Pow = op<[x: Value, p: Value]>({
  inputs: ['X', 'Y'],
  shape: broadcastShape,
  grad: ({ g, inputs: [x, p], dy }) => {
    const c = g.constValue(p);
    if (!c || !(c.data instanceof Float32Array) || c.data.length !== 1) throw new Error('Pow: gradient needs a constant float scalar exponent');
    const e = c.data[0];
    const dx = e === 2 ? g.op1('Mul', [x, g.f32(2)]) : g.op1('Mul', [g.op1('Pow', [x, g.f32(e - 1)]), g.f32(e)]);
    return [unbroadcast(g, g.op1('Mul', [dy, dx]), x.shape), null];
  },
});
