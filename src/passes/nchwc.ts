/**
 * Rewrite (after gradients, CPU only): convolutions on onnxruntime's blocked NCHWc kernels
 * (com.microsoft.nchwc, src/ops/Nchwc.ts). Each group-1 2-D Conv whose channels suit the CPU's block
 * size B and whose shape the filter picks becomes
 *   ReorderInput(x) -> NchwcConv(x', reorderWeight(w), b) -> ReorderOutput(y', O),
 * so its input and output stay NCHW for every other op. (A weight that is a graph input keeps
 * onnxruntime's own NCHWc rewrite from applying: it reorders constant weights once, at load.)
 */
import type { Graph, Value } from '../onnx/graph';
import type { Conv2dAttrs } from '../ops/conv-attrs';
import { staticShape } from '../ops/shapes';
import { matchConv, rewritePass, type Pass, type RewriteRule } from './pass';

/**
 * W [O, C, kh, kw] in the order NchwcConv reads: OIHWBiBo ([O/B, C/B, kh, kw, B(in), B(out)]) for a
 * blocked input, OIHWBo ([O/B, C, kh, kw, B(out)]) for an NCHW input with C < B. The shape stays
 * [O, C, kh, kw]; only the memory order changes (one Transpose of the weight per step).
 */
function reorderWeight(g: Graph, w: Value, B: number): Value {
  const [O, C, kh, kw] = staticShape(w, 'NchwcConv');
  if (C < B) {
    const r = g.op1('Reshape', [w, g.i64([O / B, B, C, kh, kw])]);
    return g.op1('Reshape', [g.op1('Transpose', [r], { perm: [0, 2, 3, 4, 1] }), g.i64([O, C, kh, kw])]);
  }
  const r = g.op1('Reshape', [w, g.i64([O / B, B, C / B, B, kh, kw])]);
  return g.op1('Reshape', [g.op1('Transpose', [r], { perm: [0, 2, 4, 5, 3, 1] }), g.i64([O, C, kh, kw])]);
}

/** Which convolutions go to the blocked kernel, by input and output channels. */
export type NchwcFilter = (c: { C: number; O: number }) => boolean;

/**
 * The default filter, from bench:ops nchwc (AVX-512, 2 threads): with its two reorders the blocked
 * kernel is 1.4-1.7x faster than onnxruntime's im2col Conv for 16-32 channels, even at 64-256
 * channels, and slower from 512 channels and for a 3-channel input.
 */
const nchwcDefaultFilter: NchwcFilter = ({ C, O }) => C >= 16 && Math.max(C, O) <= 32;

interface Match {
  x: Value;
  w: Value;
  b: Value | null;
  a: Conv2dAttrs;
}

function nchwcConvRule(B: number, filter: NchwcFilter = nchwcDefaultFilter): RewriteRule<Match> {
  return {
    name: `nchwc${B}`,
    pattern: (g, n) => {
      const m = matchConv(g, n);
      return m && m.x.shape.length === 4 ? m : undefined;
    },
    check: (_g, { w }) => {
      const [O, C] = staticShape(w, 'NchwcConv');
      return O % B === 0 && (C < B || C % B === 0) && filter({ C, O });
    },
    replacement: (g, { x, w, b, a }) => {
      const [O, C] = staticShape(w, 'NchwcConv');
      const xb = C < B ? x : g.op1('ReorderInput', [x], { _block: B });
      const attrs = { kernel_shape: a.k, strides: a.s, dilations: a.d, pads: a.pads };
      const yb = g.op1('NchwcConv', b ? [xb, reorderWeight(g, w, B), b] : [xb, reorderWeight(g, w, B)], attrs);
      return [g.op1('ReorderOutput', [yb], { channels: O })];
    },
  };
}

export function nchwcPass(B: number, filter?: NchwcFilter): Pass {
  return rewritePass(nchwcConvRule(B, filter));
}
