/**
 * onnxruntime's blocked-layout CPU kernels (domain com.microsoft.nchwc, in every released CPU build):
 * the layout ORT's own optimizer uses for convolutions with constant weights. A tensor in NCHWc has
 * the logical shape [N, C, H, W] (C a multiple of the block size B: 16 with AVX-512, 8 with AVX2)
 * and the memory order [N, C/B, H, W, B]. Emitted only by the optional 'nchwc' lowering below,
 * after autodiff, so these rules have no gradients.
 */
import type { Graph, Value } from '../onnx/graph';
import type { OpDef } from './types';
import { convAttrs, convOut } from './conv-attrs';

const NCHWC = 'com.microsoft.nchwc';

/** NCHW -> NCHWc; channels are padded with zeros to a multiple of B (attribute `_block`: melseg's record of B, not written to the file). */
export const ReorderInput: OpDef = {
  domain: NCHWC,
  onnxType: 'ReorderInput',
  shape: ([x], attrs) => {
    const B = attrs._block as number;
    const C = x!.shape[1] as number;
    return [{ shape: [x!.shape[0], Math.ceil(C / B) * B, x!.shape[2], x!.shape[3]], dtype: 'float32' }];
  },
};

/** NCHWc -> NCHW, keeping the first `channels` channels. */
export const ReorderOutput: OpDef = {
  domain: NCHWC,
  onnxType: 'ReorderOutput',
  shape: ([x], attrs) => [{ shape: [x!.shape[0], attrs.channels as number, x!.shape[2], x!.shape[3]], dtype: 'float32' }],
};

/**
 * Conv on NCHWc activations. W must already be in the kernel's blocked order (OIHWBiBo, or OIHWBo
 * when the input has fewer than B channels and stays NCHW); B (bias) is padded to the blocked count.
 */
export const NchwcConv: OpDef = {
  domain: NCHWC,
  onnxType: 'Conv',
  shape: ([x, w], attrs) => {
    const a = convAttrs('NchwcConv', w!, attrs);
    const H = convOut(x!.shape[2] as number, a.k[0], a.s[0], a.d[0], a.pads[0], a.pads[2]);
    const W = convOut(x!.shape[3] as number, a.k[1], a.s[1], a.d[1], a.pads[1], a.pads[3]);
    return [{ shape: [x!.shape[0], w!.shape[0], H, W], dtype: 'float32' }];
  },
};

/**
 * W [O, C, kh, kw] in the order NchwcConv reads: OIHWBiBo ([O/B, C/B, kh, kw, B(in), B(out)]) for a
 * blocked input, OIHWBo ([O/B, C, kh, kw, B(out)]) for an NCHW input with C < B. The shape stays
 * [O, C, kh, kw]; only the memory order changes (one Transpose of the weight per step).
 */
export function reorderWeight(g: Graph, w: Value, B: number): Value {
  const [O, C, kh, kw] = w.shape as number[];
  if (C < B) {
    const r = g.op1('Reshape', [w, g.i64([O / B, B, C, kh, kw])]);
    return g.op1('Reshape', [g.op1('Transpose', [r], { perm: [0, 2, 3, 4, 1] }), g.i64([O, C, kh, kw])]);
  }
  const r = g.op1('Reshape', [w, g.i64([O / B, B, C / B, B, kh, kw])]);
  return g.op1('Reshape', [g.op1('Transpose', [r], { perm: [0, 2, 4, 5, 3, 1] }), g.i64([O, C, kh, kw])]);
}

/** Which convolutions the 'nchwc' lowering moves to the blocked kernel (by its measured gain). */
export type NchwcFilter = (c: { C: number; O: number; H: number; W: number; k: number[] }) => boolean;

/**
 * Default filter, from bench:ops nchwc (AVX-512, 2 threads): with its two reorders the blocked kernel
 * is 1.4-1.7x faster than onnxruntime's im2col Conv for 16-32 channels, even at 64-256 channels, and
 * slower from 512 channels and for a 3-channel input.
 */
export const nchwcDefaultFilter: NchwcFilter = ({ C, O }) => C >= 16 && Math.max(C, O) <= 32;

/**
 * The optional 'nchwc' lowering (after autodiff and lowering; standard graphs stay the default): each
 * group-1 2-D Conv whose channels suit block size B becomes
 *   ReorderInput(x) -> NchwcConv(x', reorderWeight(w), b) -> ReorderOutput(y', O),
 * so its input and output stay NCHW for every other op. (A weight that is a graph input keeps
 * onnxruntime's own NCHWc rewrite from applying: it reorders constant weights once, at load.)
 */
export function nchwcConvs(g: Graph, B: number, filter: NchwcFilter = nchwcDefaultFilter): number {
  let count = 0;
  g.rewrite((n) => {
    if (n.op !== 'Conv' || (n.attrs.group ?? 1) !== 1) return undefined;
    const x = g.value(n.inputs[0]);
    const w = g.value(n.inputs[1]);
    if (w.shape.length !== 4 || x.shape.length !== 4) return undefined;
    const [O, C] = w.shape as number[];
    if (O % B !== 0 || (C >= B && C % B !== 0)) return undefined;
    const [H, W] = [x.shape[2] as number, x.shape[3] as number];
    if (!filter({ C, O, H, W, k: [w.shape[2] as number, w.shape[3] as number] })) return undefined;
    const b = n.inputs[2] ? g.value(n.inputs[2]) : null;
    const xb = C < B ? x : g.op1('ReorderInput', [x], { _block: B });
    const attrs = { ...n.attrs, kernel_shape: n.attrs.kernel_shape ?? [w.shape[2], w.shape[3]] };
    const yb = g.op1('NchwcConv', b ? [xb, reorderWeight(g, w, B), b] : [xb, reorderWeight(g, w, B)], attrs);
    count++;
    return [g.op1('ReorderOutput', [yb], { channels: O })];
  });
  return count;
}
