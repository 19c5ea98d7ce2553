import type { Value } from '../onnx/graph';
import type { OpDef } from './types';
import { expandBack, reduceAxes, reducedShape } from './reduce';

// Opset 13+: axes is an input. d sum(x) = dy broadcast over the reduced axes.
export const ReduceSum: OpDef = {
  shape: ([x, axes], attrs, g) => {
    const ax = axes ? g.constInts(axes as Value) : undefined;
    if (axes && !ax) throw new Error('axes must be a constant');
    return [{ shape: reducedShape(x!.shape, ax, (attrs.keepdims ?? 1) !== 0), dtype: x!.dtype }];
  },
  grad: ({ g, inputs: [x, axes], attrs, dOut: [dy] }) => {
    const ax = reduceAxes(x!, axes ? g.constInts(axes) : undefined);
    return [expandBack(g, dy!, x!, ax, attrs), null];
  },
};
