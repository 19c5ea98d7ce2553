import type { OpDef } from './types';
import { broadcastShape } from './elementwise';
import { unbroadcast } from './shapes';

// d(x^p)/dx = p*x^(p-1); the exponent must be a constant (no gradient flows to it).
export const Pow: OpDef = {
  shape: broadcastShape,
  grad: ({ g, inputs: [x, p], dOut: [dy] }) => {
    const c = g.constValue(p!);
    if (!c || c.data.length !== 1) throw new Error('Pow: gradient needs a constant scalar exponent');
    const e = Number((c.data as Float32Array)[0]);
    const dx = e === 2 ? g.op1('Mul', [x!, g.f32(2)]) : g.op1('Mul', [g.op1('Pow', [x!, g.f32(e - 1)]), g.f32(e)]);
    return [unbroadcast(g, g.op1('Mul', [dy!, dx]), x!.shape), null];
  },
};
