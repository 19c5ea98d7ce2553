/**
 * Rewrite (before gradients): UNet_dilate's pooling, a 2x2 Conv dilated by half the image with no
 * padding, on H x W: y[i,j] = sum_ab w_ab x[i + aH/2, j + bW/2], as one 1x1 convolution (a GEMM)
 * over the four quadrants of x stacked as channels (a, b, c). Every output pixel sees exactly one
 * input pixel per tap (a, b), so no im2col is needed; onnxruntime's dilated Conv runs its im2col on
 * the dilated grid, and its input gradient (a Conv with pads H/2 and dilation H/2) multiplies 3
 * zeros for every product it needs. Quadrant moves keep rows of W/2 floats contiguous; the gradients
 * follow from the Conv (1x1), Transpose and Reshape rules. bench:ops two-by-two (forward +
 * backward): 1.4-4x faster than the dilated Conv. (The same idea for the 2x2 up-convolutions, a 1x1
 * conv to channels (a, b, o) and a quadrant move or pixel shuffle, was mostly slower than
 * onnxruntime's ConvTranspose and was deleted.)
 */
import type { Graph, Value } from '../onnx/graph';
import type { Conv2dAttrs } from '../ops/conv-attrs';
import { spatial, staticShape } from '../ops/shapes';
import { matchConv, rewritePass, type RewriteRule } from './pass';

/** Conv(x, w [O, C, 2, 2], b, dilations [H/2, W/2]) for x [N, C, H, W], H and W even: [N, O, H/2, W/2]. */
export function quadrantConv(g: Graph, x: Value, w: Value, b: Value | null, hint = 'qconv'): Value {
  const [O, C] = staticShape(w, 'Conv');
  const [H, W] = spatial(x, 'Conv');
  const [h, wd] = [H / 2, W / 2];
  // x [N, C, a, h, b, w] -> [N, a, b, C, h, w] -> channels (a, b, c)
  const quads = g.op1('Transpose', [g.op1('Reshape', [x, g.i64([0, C, 2, h, 2, wd])])], { perm: [0, 2, 4, 1, 3, 5] });
  const stacked = g.op1('Reshape', [quads, g.i64([0, 4 * C, h, wd])]);
  // W'[o, (a, b, c)] = w[o, c, a, b]
  const w1 = g.op1('Reshape', [g.op1('Transpose', [w], { perm: [0, 2, 3, 1] }), g.i64([O, 4 * C, 1, 1])]);
  return g.op1('Conv', b ? [stacked, w1, b] : [stacked, w1], { kernel_shape: [1, 1] }, hint);
}

interface Match {
  x: Value;
  w: Value;
  b: Value | null;
  a: Conv2dAttrs;
}

const quadrantDilatedConv: RewriteRule<Match> = {
  name: 'quadrant-dilated-conv',
  pattern: (g, n) => {
    return matchConv(g, n);
  },
  check: (_g, { x, a }) => {
    const [H, W] = x.shape.slice(2);
    return typeof H === 'number' && typeof W === 'number' && H % 2 === 0 && W % 2 === 0 &&
      a.k.join() === '2,2' && a.s.join() === '1,1' && a.pads.every((p) => p === 0) && a.d[0] === H / 2 && a.d[1] === W / 2;
  },
  replacement: (g, { x, w, b }) => [quadrantConv(g, x, w, b)],
};

export const quadrantDilatedConvPass = rewritePass(quadrantDilatedConv);
