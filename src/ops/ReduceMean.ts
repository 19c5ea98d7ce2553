import type { OpDef } from './types';
import { expandBack, reduceAxes, reducedCount, reducedShape } from './reduce';

// Opset 17: axes is an attribute. d mean(x) = dy / count, broadcast over the reduced axes.
export const ReduceMean: OpDef = {
  shape: ([x], attrs) => [{ shape: reducedShape(x!.shape, attrs.axes as number[] | undefined, (attrs.keepdims ?? 1) !== 0), dtype: x!.dtype }],
  grad: ({ g, inputs: [x], attrs, dOut: [dy] }) => {
    const ax = reduceAxes(x!, attrs.axes as number[] | undefined);
    const scaled = g.op1('Div', [dy!, reducedCount(g, x!, ax)]);
    return [expandBack(g, scaled, x!, ax, attrs)];
  },
};

export const ReduceProd: OpDef = {
  shape: ([x], attrs) => [{ shape: reducedShape(x!.shape, attrs.axes as number[] | undefined, (attrs.keepdims ?? 1) !== 0), dtype: x!.dtype }],
};

export const ReduceMax: OpDef = ReduceProd;
