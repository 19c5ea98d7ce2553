/** Shape arithmetic shared by the op rules: broadcasting and reducing a gradient back to an input. */
import type { Dim, Graph, Shape, Value } from '../onnx/graph';

/** A dimension the rule needs as a number; a symbolic one (the batch) is an error naming the op. */
export function staticDim(d: Dim, op: string): number {
  if (typeof d !== 'number') throw new Error(`${op}: needs a static dimension where the shape has '${d}'`);
  return d;
}

/** The static shape of a value (a weight, a constant). */
export function staticShape(v: Value, op: string): number[] {
  return v.shape.map((d) => staticDim(d, op));
}

/** Height and width of an NCHW value, which melseg's rules need as numbers. */
export function spatial(v: Value, op: string): [number, number] {
  return [staticDim(v.shape[2], op), staticDim(v.shape[3], op)];
}

/** Numpy broadcasting of two shapes; a symbolic dim broadcasts against 1 or itself. */
export function broadcast(a: Shape, b: Shape): Shape {
  const n = Math.max(a.length, b.length);
  const out: Shape = [];
  for (let i = 0; i < n; i++) {
    const x = i < n - a.length ? 1 : a[i - (n - a.length)];
    const y = i < n - b.length ? 1 : b[i - (n - b.length)];
    if (x === y || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    // A symbolic dim against a number can only be valid at run time if they are equal.
    else if (typeof x === 'string' && typeof y === 'number') out.push(y);
    else if (typeof y === 'string' && typeof x === 'number') out.push(x);
    else throw new Error(`cannot broadcast [${a}] with [${b}]`);
  }
  return out;
}

/** Normalise possibly negative axes against a rank. */
export function normAxes(axes: number[], rank: number): number[] {
  return axes.map((a) => normAxis(a, rank));
}

export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/**
 * Sum a gradient of broadcast shape `full` down to `target`'s shape: ReduceSum over the leading
 * axes the input lacks and over the axes where the input has 1, then Reshape to the input's rank.
 */
export function unbroadcast(g: Graph, grad: Value, target: Shape): Value {
  const full = grad.shape;
  const lead = full.length - target.length;
  const axes: number[] = [];
  for (let i = 0; i < full.length; i++) {
    if (i < lead) axes.push(i);
    else if (target[i - lead] === 1 && full[i] !== 1) axes.push(i);
  }
  let out = grad;
  if (axes.length) out = g.op1('ReduceSum', [grad, g.i64(axes)], { keepdims: 1 });
  // After a keepdims sum the leading axes are 1: squeezing them keeps symbolic dims intact.
  if (lead > 0) out = g.op1('Squeeze', [out, g.i64(Array.from({ length: lead }, (_, i) => i))]);
  return out;
}

/**
 * A Reshape target giving x's shape. With at most one symbolic dim it is a constant (-1 there):
 * a Shape(x) node would keep x itself alive until the backward pass reads its shape, which for an
 * activation costs the whole tensor's memory.
 */
export function reshapeTarget(g: Graph, x: Value): Value {
  const sym = x.shape.filter((d) => typeof d !== 'number').length;
  if (sym <= 1) return g.i64(x.shape.map((d) => (typeof d === 'number' ? d : -1)));
  return g.op1('Shape', [x]);
}
