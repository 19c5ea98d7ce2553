import type { Attrs } from '../onnx/graph';
import { int, ints, op } from './types';
import { UNARY, type Unary } from './elementwise';
import { expandBack, reduceAxes, reducedCount, reducedShape } from './reduce';

/** Opset 17 keeps ReduceMean's, ReduceProd's and ReduceMax's axes in an attribute. */
const shape = ([x]: Unary, attrs: Attrs) => [
  { shape: reducedShape(x.shape, ints(attrs, 'axes', []), int(attrs, 'keepdims', 1) !== 0), dtype: x.dtype },
];

// d mean(x) = dy / count, broadcast over the reduced axes.
export const ReduceMean = op<Unary>({
  inputs: UNARY,
  shape,
  grad: ({ g, inputs: [x], attrs, dy }) => {
    const ax = reduceAxes(x.shape.length, ints(attrs, 'axes', []));
    const scaled = g.op1('Div', [dy, reducedCount(g, x, ax)]);
    return [expandBack(g, scaled, x, ax, int(attrs, 'keepdims', 1) !== 0)];
  },
});

export const ReduceProd = op<Unary>({ inputs: UNARY, shape });

export const ReduceMax = ReduceProd;
