/** Helpers shared by the reduction rules. */
import type { Graph, Shape, Value } from '../onnx/graph';
import { normAxes } from './shapes';

export function reducedShape(shape: Shape, axes: number[] | undefined, keepdims: boolean): Shape {
  const ax = reduceAxes(shape.length, axes);
  const out: Shape = [];
  shape.forEach((d, i) => {
    if (!ax.includes(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

/** The reduced axes, normalised; none given (or empty) = all. */
export function reduceAxes(rank: number, axes: number[] | undefined): number[] {
  return axes && axes.length ? normAxes(axes, rank) : Array.from({ length: rank }, (_, i) => i);
}

/** Number of elements reduced over `axes`, as a float scalar (built at run time for symbolic dims). */
export function reducedCount(g: Graph, x: Value, axes: number[]): Value {
  const dims = axes.map((a) => x.shape[a]);
  if (dims.every((d): d is number => typeof d === 'number')) return g.f32(dims.reduce((p, d) => p * d, 1));
  const picked = g.op1('Gather', [g.op1('Shape', [x]), g.i64(axes)], { axis: 0 });
  const prod = g.op1('ReduceProd', [picked], { keepdims: 0 });
  return g.op1('Cast', [prod], { to: 1 });
}

/** Broadcast a reduced gradient back over the reduced axes (keepdims: whether dy kept them as 1s). */
export function expandBack(g: Graph, dy: Value, x: Value, axes: number[], keepdims: boolean): Value {
  const dk = keepdims ? dy : g.op1('Unsqueeze', [dy, g.i64(axes)]);
  return g.op1('Expand', [dk, g.op1('Shape', [x])]);
}
