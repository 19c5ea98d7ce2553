/** Attribute reading shared by Conv and ConvTranspose (2-D only, group 1). */
import type { Attrs, Value } from '../onnx/graph';
import { unsupported } from './types';

export interface Conv2dAttrs {
  k: [number, number];
  s: [number, number];
  d: [number, number];
  pads: [number, number, number, number];
  outPad: [number, number];
}

export function convAttrs(op: string, w: Value, attrs: Attrs): Conv2dAttrs {
  if (w.shape.length !== 4) unsupported(op, 'weight rank', w.shape.length);
  if ((attrs.group ?? 1) !== 1) unsupported(op, 'group', attrs.group);
  if (attrs.auto_pad && attrs.auto_pad !== 'NOTSET') unsupported(op, 'auto_pad', attrs.auto_pad);
  const k = (attrs.kernel_shape as number[]) ?? [w.shape[2] as number, w.shape[3] as number];
  const s = (attrs.strides as number[]) ?? [1, 1];
  const d = (attrs.dilations as number[]) ?? [1, 1];
  const p = (attrs.pads as number[]) ?? [0, 0, 0, 0];
  const op2 = (attrs.output_padding as number[]) ?? [0, 0];
  return { k: [k[0], k[1]], s: [s[0], s[1]], d: [d[0], d[1]], pads: [p[0], p[1], p[2], p[3]], outPad: [op2[0], op2[1]] };
}

/** Conv output size: floor((H + pb + pe - d(k-1) - 1)/s) + 1 */
export function convOut(h: number, k: number, s: number, d: number, pb: number, pe: number): number {
  return Math.floor((h + pb + pe - d * (k - 1) - 1) / s) + 1;
}

/** ConvTranspose output size: s(H-1) + outPad + d(k-1) + 1 - pb - pe */
export function convTOut(h: number, k: number, s: number, d: number, pb: number, pe: number, op: number): number {
  return s * (h - 1) + op + d * (k - 1) + 1 - pb - pe;
}

/** A 4-D weight flipped in both spatial axes with its first two axes swapped. */
export function flipSwap(g: import('../onnx/graph').Graph, w: Value): Value {
  const flipped = g.op1('Slice', [w, g.i64([-1, -1]), g.i64([-(2 ** 62), -(2 ** 62)]), g.i64([2, 3]), g.i64([-1, -1])]);
  return g.op1('Transpose', [flipped], { perm: [1, 0, 2, 3] });
}
