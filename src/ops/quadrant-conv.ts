/**
 * The 2x2 layers of UNet_dilate and UNet_stride as one 1x1 convolution (a GEMM) plus a data move.
 * In each, every output pixel sees exactly one input pixel per tap (a, b), so no im2col is needed:
 *
 * - dilated pooling, Conv k=2, dilation H/2, no padding, on H x W: y[i,j] = sum_ab w_ab x[i + aH/2, j + bW/2]:
 *   a 1x1 conv over the four quadrants of x stacked as channels (a, b, c). onnxruntime's dilated Conv
 *   runs its im2col on the dilated grid, and its input gradient (a Conv with pads H/2 and dilation
 *   H/2) multiplies 3 zeros for every product it needs.
 * - dilated up-convolution, ConvTranspose k=2, dilation H, on H x W (-> 2H x 2W): output quadrant (a, b)
 *   is the 1x1 conv of x with w[:, :, a, b]: one 1x1 conv to channels (a, b, o), then quadrants placed.
 * - strided up-convolution, ConvTranspose k=2, stride 2: y[2i+a, 2j+b] = sum_c x[c,i,j] w[c,o,a,b]:
 *   one 1x1 conv to channels (a, b, o), then DepthToSpace (DCR), the pixel shuffle.
 *
 * Quadrant moves keep rows of H/2 (or H) floats contiguous. Gradients follow from Conv (1x1),
 * Transpose, Reshape and DepthToSpace rules. bench:ops two-by-two (forward + backward): the pooling
 * form is 1.4-4x faster than the dilated Conv; the two up-convolution forms are mostly slower than
 * onnxruntime's ConvTranspose (kept as lowering.upConv2x2 = 'gemm').
 */
import type { Graph, Value } from '../onnx/graph';

/** ConvTranspose weight [C, O, 2, 2] -> 1x1 conv weight [(a, b, o), C, 1, 1], bias [O] -> [(a, b, o)]. */
function tapsAsChannels(g: Graph, w: Value, b: Value | null): [Value, Value | null] {
  const [C, O] = w.shape as number[];
  const w1 = g.op1('Reshape', [g.op1('Transpose', [w], { perm: [2, 3, 1, 0] }), g.i64([4 * O, C, 1, 1])]);
  return [w1, b ? g.op1('Concat', [b, b, b, b], { axis: 0 }) : null];
}

/** Conv(x, w [O, C, 2, 2], b, dilations [H/2, W/2]) for x [N, C, H, W], H and W even: [N, O, H/2, W/2]. */
export function quadrantConv(g: Graph, x: Value, w: Value, b: Value | null, hint = 'qconv'): Value {
  const [O, C] = w.shape as number[];
  const [H, W] = [x.shape[2] as number, x.shape[3] as number];
  const [h, wd] = [H / 2, W / 2];
  // x [N, C, a, h, b, w] -> [N, a, b, C, h, w] -> channels (a, b, c)
  const quads = g.op1('Transpose', [g.op1('Reshape', [x, g.i64([0, C, 2, h, 2, wd])])], { perm: [0, 2, 4, 1, 3, 5] });
  const stacked = g.op1('Reshape', [quads, g.i64([0, 4 * C, h, wd])]);
  // W'[o, (a, b, c)] = w[o, c, a, b]
  const w1 = g.op1('Reshape', [g.op1('Transpose', [w], { perm: [0, 2, 3, 1] }), g.i64([O, 4 * C, 1, 1])]);
  return g.op1('Conv', b ? [stacked, w1, b] : [stacked, w1], { kernel_shape: [1, 1] }, hint);
}

/** ConvTranspose(x, w [C, O, 2, 2], b, dilations [H, W]) for x [N, C, H, W]: [N, O, 2H, 2W]. */
export function quadrantConvTranspose(g: Graph, x: Value, w: Value, b: Value | null, hint = 'qconvt'): Value {
  const O = w.shape[1] as number;
  const [H, W] = [x.shape[2] as number, x.shape[3] as number];
  const [w1, b4] = tapsAsChannels(g, w, b);
  const z = g.op1('Conv', b4 ? [x, w1, b4] : [x, w1], { kernel_shape: [1, 1] });
  // channels (a, b, o): [N, a, b, O, H, W] -> [N, O, a, H, b, W] -> [N, O, 2H, 2W]
  const moved = g.op1('Transpose', [g.op1('Reshape', [z, g.i64([0, 2, 2, O, H, W])])], { perm: [0, 3, 1, 4, 2, 5] });
  return g.op1('Reshape', [moved, g.i64([0, O, 2 * H, 2 * W])], {}, hint);
}

/** ConvTranspose(x, w [C, O, 2, 2], b, strides [2, 2]) for x [N, C, H, W]: [N, O, 2H, 2W]. */
export function pixelShuffleConvTranspose(g: Graph, x: Value, w: Value, b: Value | null, hint = 'sconvt'): Value {
  const [w1, b4] = tapsAsChannels(g, w, b);
  const z = g.op1('Conv', b4 ? [x, w1, b4] : [x, w1], { kernel_shape: [1, 1] });
  // channels (a, b, o) -> pixel (2i+a, 2j+b): DepthToSpace in DCR mode
  return g.op1('DepthToSpace', [z], { blocksize: 2 }, hint);
}
