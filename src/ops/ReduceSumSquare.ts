import type { OpDef } from './types';
import { expandBack, reduceAxes, reducedShape } from './reduce';

// Opset 17: axes is an attribute. sum(x^2) in one read of x (no x*x tensor). d = 2 x dy, broadcast back.
export const ReduceSumSquare: OpDef = {
  shape: ([x], attrs) => [{ shape: reducedShape(x!.shape, attrs.axes as number[] | undefined, (attrs.keepdims ?? 1) !== 0), dtype: x!.dtype }],
  grad: ({ g, inputs: [x], attrs, dOut: [dy] }) => {
    const ax = reduceAxes(x!, attrs.axes as number[] | undefined);
    return [g.op1('Mul', [expandBack(g, dy!, x!, ax, attrs), g.op1('Mul', [x!, g.f32(2)])])];
  },
};
