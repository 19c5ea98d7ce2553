/**
 * Rewrite (device pass, WebGPU): a Conv that onnxruntime's WebGPU provider would run as a plain
 * MatMul, with padding only at the bottom/right, as a Conv it runs correctly. The provider's Conv
 * takes its MatMul shortcut when the kernel covers the whole input (or is 1x1 with stride 1) and the
 * *leading* pads are 0, and never looks at the trailing pads, so such a Conv returns wrong values
 * (relative error ~0.9; found by running: the sub-pixel up-convolution's 2x2 kernel with pads
 * [0, 0, 1, 1] on UNet's 2x2 bottleneck at 32 px, test/onnx/webgpu-parity.test.ts).
 * An explicit Pad does not help: onnxruntime's PadFusion folds it back into the Conv's pads. So the
 * Conv gets a leading pad of one stride on top, s_h rows of zeros, which adds one output row that
 * sees only zeros above the first (y'[i + 1] = y[i], the same windows), and a Slice drops that row.
 */
import type { Node, Value } from '../onnx/graph';
import { webgpuConvAsMatMul } from '../onnx/providers';
import { spatial } from '../ops/shapes';
import { matchConv, rewritePass, type RewriteRule } from './pass';

interface Match {
  n: Node;
  x: Value;
  w: Value;
  b: Value | null;
  tail: [number, number];
  /** the vertical stride */
  sh: number;
}

const convTailPad: RewriteRule<Match> = {
  name: 'conv-tail-pad',
  pattern: (g, n) => {
    const m = matchConv(g, n);
    if (!m) return undefined;
    const { x, w, b, a } = m;
    if (x.shape.length !== 4 || typeof x.shape[2] !== 'number' || typeof x.shape[3] !== 'number') return undefined;
    if (!webgpuConvAsMatMul(a.k, a.s, a.pads, spatial(x, 'Conv'))) return undefined;
    return { n, x, w, b, tail: [a.pads[2], a.pads[3]], sh: a.s[0] };
  },
  check: (_g, { tail }) => tail[0] > 0 || tail[1] > 0,
  replacement: (g, { n, x, w, b, tail, sh }) => {
    const y = g.op1('Conv', b ? [x, w, b] : [x, w], { ...n.attrs, pads: [sh, 0, tail[0], tail[1]] });
    return [g.op1('Slice', [y, g.i64([1]), g.i64([2 ** 62]), g.i64([2])])];
  },
};

export const convTailPadPass = rewritePass(convTailPad);
