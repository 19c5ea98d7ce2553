import type { Value } from '../onnx/graph';
import { int, op } from './types';
import { expandBack, reduceAxes, reducedShape } from './reduce';

// Opset 13+: axes is an input. d sum(x) = dy broadcast over the reduced axes.
export const ReduceSum = op<[x: Value, axes: Value | null]>({
  inputs: ['data', 'axes?'],
  shape: ([x, axes], attrs, g) => {
    const ax = axes ? g.constInts(axes) : undefined;
    if (axes && !ax) throw new Error('axes must be a constant');
    return [{ shape: reducedShape(x.shape, ax, int(attrs, 'keepdims', 1) !== 0), dtype: x.dtype }];
  },
  grad: ({ g, inputs: [x, axes], attrs, dy }) => {
    const ax = reduceAxes(x.shape.length, axes ? g.constInts(axes) : undefined);
    return [expandBack(g, dy, x, ax, int(attrs, 'keepdims', 1) !== 0), null];
  },
});
