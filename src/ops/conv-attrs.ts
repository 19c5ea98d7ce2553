/** Attribute reading shared by Conv and ConvTranspose (2-D only, group 1). */
import type { Attrs, Graph, Value } from '../onnx/graph';
import { int, ints, str, unsupported } from './types';
import { staticShape } from './shapes';

export interface Conv2dAttrs {
  k: [number, number];
  s: [number, number];
  d: [number, number];
  pads: [number, number, number, number];
  outPad: [number, number];
}

export function convAttrs(op: string, w: Value, attrs: Attrs): Conv2dAttrs {
  if (w.shape.length !== 4) unsupported(op, 'weight rank', w.shape.length);
  if (int(attrs, 'group', 1) !== 1) unsupported(op, 'group', attrs.group);
  if (str(attrs, 'auto_pad', 'NOTSET') !== 'NOTSET') unsupported(op, 'auto_pad', attrs.auto_pad);
  const [, , kh, kw] = staticShape(w, op);
  const k = ints(attrs, 'kernel_shape', [kh, kw]);
  const s = ints(attrs, 'strides', [1, 1]);
  const d = ints(attrs, 'dilations', [1, 1]);
  const p = ints(attrs, 'pads', [0, 0, 0, 0]);
  const o = ints(attrs, 'output_padding', [0, 0]);
  return { k: [k[0], k[1]], s: [s[0], s[1]], d: [d[0], d[1]], pads: [p[0], p[1], p[2], p[3]], outPad: [o[0], o[1]] };
}

/** Conv output size: floor((H + pb + pe - d(k-1) - 1)/s) + 1 */
export function convOut(h: number, k: number, s: number, d: number, pb: number, pe: number): number {
  return Math.floor((h + pb + pe - d * (k - 1) - 1) / s) + 1;
}

/** ConvTranspose output size: s(H-1) + outPad + d(k-1) + 1 - pb - pe */
export function convTOut(h: number, k: number, s: number, d: number, pb: number, pe: number, op: number): number {
  return s * (h - 1) + op + d * (k - 1) + 1 - pb - pe;
}

/**
 * A 4-D weight [O, C, kh, kw] flipped in both spatial axes with its first two axes swapped: the
 * weight of the stride-1 input gradient. Flipping both axes reverses the kh*kw taps, so it is one
 * Transpose of [O, C, taps] (whole tap vectors move) and one product with the constant reversal J:
 * 2-3x faster than a Slice with step -1 on large weights (bench:ops flip-swap, before the Slice form
 * was deleted).
 */
export function flipSwap(g: Graph, w: Value): Value {
  const [O, C, kh, kw] = staticShape(w, 'Conv');
  const k = kh * kw;
  if (k === 1) return g.op1('Transpose', [w], { perm: [1, 0, 2, 3] });
  const J = new Float32Array(k * k);
  for (let i = 0; i < k; i++) J[i * k + (k - 1 - i)] = 1;
  const swapped = g.op1('Transpose', [g.op1('Reshape', [w, g.i64([O, C, k])])], { perm: [1, 0, 2] });
  const flipped = g.op1('MatMul', [g.op1('Reshape', [swapped, g.i64([C * O, k])]), g.f32(J, [k, k])]);
  return g.op1('Reshape', [flipped, g.i64([C, O, kh, kw])]);
}
