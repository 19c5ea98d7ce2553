/** Attribute reading shared by Conv and ConvTranspose (2-D only; any group). */
import type { Attrs, Graph, Value } from '../onnx/graph';
import { int, ints, str, unsupported } from './types';
import { staticShape } from './shapes';

export interface Conv2dAttrs {
  k: [number, number];
  s: [number, number];
  d: [number, number];
  pads: [number, number, number, number];
  outPad: [number, number];
  /** channel groups: 1 = dense, C = depthwise */
  group: number;
}

export function convAttrs(op: string, w: Value, attrs: Attrs): Conv2dAttrs {
  if (w.shape.length !== 4) unsupported(op, 'weight rank', w.shape.length);
  const group = int(attrs, 'group', 1);
  if (group < 1) unsupported(op, 'group', attrs.group);
  if (str(attrs, 'auto_pad', 'NOTSET') !== 'NOTSET') unsupported(op, 'auto_pad', attrs.auto_pad);
  const [, , kh, kw] = staticShape(w, op);
  const k = ints(attrs, 'kernel_shape', [kh, kw]);
  const s = ints(attrs, 'strides', [1, 1]);
  const d = ints(attrs, 'dilations', [1, 1]);
  const p = ints(attrs, 'pads', [0, 0, 0, 0]);
  const o = ints(attrs, 'output_padding', [0, 0]);
  return { k: [k[0], k[1]], s: [s[0], s[1]], d: [d[0], d[1]], pads: [p[0], p[1], p[2], p[3]], outPad: [o[0], o[1]], group };
}

/** Conv output size: floor((H + pb + pe - d(k-1) - 1)/s) + 1 */
export function convOut(h: number, k: number, s: number, d: number, pb: number, pe: number): number {
  return Math.floor((h + pb + pe - d * (k - 1) - 1) / s) + 1;
}

/** ConvTranspose output size: s(H-1) + outPad + d(k-1) + 1 - pb - pe */
export function convTOut(h: number, k: number, s: number, d: number, pb: number, pe: number, op: number): number {
  return s * (h - 1) + op + d * (k - 1) + 1 - pb - pe;
}

/** The channel counts a grouped convolution needs: `channels` (input or output) a multiple of `group`. */
export function checkGroups(op: string, what: string, channels: number | string, group: number): void {
  if (typeof channels !== 'number' || channels % group !== 0) throw new Error(`${op}: ${what} ${channels} is not a multiple of group ${group}`);
}

/**
 * A 4-D weight [O, C, kh, kw] flipped in both spatial axes with its first two axes swapped: the
 * weight of the stride-1 input gradient. With `group` G the swap is within each group: w holds G
 * blocks [O/G, C/G] stacked along O, the result G blocks [C/G, O/G] stacked along its first axis,
 * i.e. [G, O/G, C/G] -> [G, C/G, O/G]. Flipping both axes reverses the kh*kw taps, so it is one
 * Transpose of [O, C, taps] (whole tap vectors move) and one product with the constant reversal J:
 * 2-3x faster than a Slice with step -1 on large weights (bench:ops flip-swap, before the Slice form
 * was deleted).
 */
export function flipSwap(g: Graph, w: Value, group = 1): Value {
  const [O, C, kh, kw] = staticShape(w, 'Conv');
  const k = kh * kw;
  const Og = O / group;
  if (group === 1 && k === 1) return g.op1('Transpose', [w], { perm: [1, 0, 2, 3] });
  const swapped = Og === 1 || C === 1
    ? w // one of the swapped axes has length 1: the swap moves nothing
    : g.op1('Transpose', [g.op1('Reshape', [w, g.i64([group, Og, C, k])])], { perm: [0, 2, 1, 3] });
  if (k === 1) return g.op1('Reshape', [swapped, g.i64([C * group, Og, kh, kw])]);
  const J = new Float32Array(k * k);
  for (let i = 0; i < k; i++) J[i * k + (k - 1 - i)] = 1;
  const flipped = g.op1('MatMul', [g.op1('Reshape', [swapped, g.i64([C * O, k])]), g.f32(J, [k, k])]);
  return g.op1('Reshape', [flipped, g.i64([C * group, Og, kh, kw])]);
}
