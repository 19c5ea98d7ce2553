import type { Graph, Value } from '../onnx/graph';
import { op } from './types';
import { checkGroups, convAttrs, convOut, flipSwap, type Conv2dAttrs } from './conv-attrs';
import { im2col } from './im2col';
import { defaultWeightGradLayout, pointwiseWeightGrad, shiftedGradCost, shiftedWeightGrad } from './conv-weight-grad';
import { spatial, staticShape } from './shapes';

/**
 * When im2col is preferred to the shifted formulation, which multiplies R/Ho - 1 extra zero rows:
 * beyond 50% waste always; beyond 10% when the layer is wide enough to be bound by its GEMM rather
 * than by copies (bench:ops conv-dw: 1024 channels at 16x16, im2col ~1.1x faster).
 */
function preferIm2col(cost: number, C: number, O: number): boolean {
  return cost > 1.5 || (cost > 1.1 && Math.min(C, O) >= 512);
}

type ConvOperands = [x: Value, w: Value, b: Value | null];

/**
 * 2-D convolution; weight [O, C/G, kh, kw] for `group` G (G = C: depthwise).
 * dX: for stride 1, a Conv of dy with the flipped, channel-swapped weight and pads d(k-1)-p
 *     (measured ~1.6x faster than ConvTranspose), swapped within each group and with the same group;
 *     otherwise ConvTranspose with the same group, the conv's adjoint.
 * dW: group 1, stride 1: shifted copies of dy and x and one product (conv-weight-grad.ts); 1x1: one
 *     product of dy and x; otherwise (strided, or when the shift would mostly multiply zeros) im2col
 *     and one Gemm (im2col.ts). Group > 1: im2col and one batched MatMul over the groups.
 * dB: sum of dy over n, h, w.
 */
export const Conv = op<ConvOperands>({
  inputs: ['X', 'W', 'B?'],
  shape: ([x, w], attrs) => {
    const a = convAttrs('Conv', w, attrs);
    const [h, wd] = spatial(x, 'Conv');
    const H = convOut(h, a.k[0], a.s[0], a.d[0], a.pads[0], a.pads[2]);
    const W = convOut(wd, a.k[1], a.s[1], a.d[1], a.pads[1], a.pads[3]);
    if (a.group === 1 && x.shape[1] !== w.shape[1]) throw new Error(`input channels ${x.shape[1]} != weight's ${w.shape[1]}`);
    if (a.group > 1) {
      checkGroups('Conv', 'output channels', w.shape[0], a.group);
      const c = w.shape[1];
      if (typeof c !== 'number' || x.shape[1] !== c * a.group) throw new Error(`input channels ${x.shape[1]} != weight's ${c} x group ${a.group}`);
    }
    return [{ shape: [x.shape[0], w.shape[0], H, W], dtype: 'float32' }];
  },
  grad: ({ g, inputs: [x, w, b], outputs: [y], attrs, dy }) => {
    const a = convAttrs('Conv', w, attrs);
    const [kh, kw] = a.k;
    const [H, W] = spatial(x, 'Conv');
    const [Ho, Wo] = spatial(y, 'Conv');
    // dW first: x is then free before dX is allocated, and dW's shifted copies never coexist with dX
    // (the step's peak memory is in these rules, at the widest full-resolution layers).
    const dw = convWeightGrad(g, x, dy, w, a);
    const db = b ? g.op1('ReduceSum', [dy, g.i64([0, 2, 3])], { keepdims: 0 }, 'db') : null;
    let dx: Value;
    const flipPads = [a.d[0] * (kh - 1) - a.pads[0], a.d[1] * (kw - 1) - a.pads[1], a.d[0] * (kh - 1) - a.pads[2], a.d[1] * (kw - 1) - a.pads[3]];
    if (a.s[0] === 1 && a.s[1] === 1 && flipPads.every((p) => p >= 0)) {
      dx = g.op1('Conv', [dy, flipSwap(g, w, a.group)], { kernel_shape: a.k, pads: flipPads, dilations: a.d, ...groupAttr(a) }, 'dx');
    } else {
      const full = [a.s[0] * (Ho - 1) + a.d[0] * (kh - 1) + 1 - a.pads[0] - a.pads[2], a.s[1] * (Wo - 1) + a.d[1] * (kw - 1) + 1 - a.pads[1] - a.pads[3]];
      dx = g.op1('ConvTranspose', [dy, w], {
        kernel_shape: a.k, strides: a.s, dilations: a.d, pads: a.pads, output_padding: [H - full[0], W - full[1]], ...groupAttr(a),
      }, 'dx');
    }
    return [dx, dw, db];
  },
});

/** The group attribute, written only where it is not the default (graphs of group-1 convs stay as they were). */
export function groupAttr(a: Conv2dAttrs): { group?: number } {
  return a.group === 1 ? {} : { group: a.group };
}

/** dW by shape: one product for 1x1, shifted copies for stride 1 unless they waste too much, else im2col. */
function convWeightGrad(g: Graph, x: Value, dy: Value, w: Value, a: Conv2dAttrs): Value {
  if (a.group > 1) return groupedWeightGrad(g, x, dy, w, a);
  const [Ho, Wo] = spatial(dy, 'Conv');
  const [O, C] = staticShape(w, 'Conv');
  const pointwise = a.k[0] === 1 && a.k[1] === 1 && a.s.every((s) => s === 1) && a.pads.every((p) => p === 0);
  if (pointwise) return pointwiseWeightGrad(g, x, dy, w, defaultWeightGradLayout(Ho, Wo));
  const cost = shiftedGradCost(a, Ho);
  if (cost !== undefined && !preferIm2col(cost, C, O)) {
    return shiftedWeightGrad(g, x, dy, w, a, defaultWeightGradLayout(Ho + a.d[0] * (a.k[0] - 1), Wo));
  }
  return im2colWeightGrad(g, x, dy, w, a);
}

/** dW[o, (c,a,b)] = dy [O, N*Ho*Wo] x cols^T: im2col of x and one Gemm. */
export function im2colWeightGrad(g: Graph, x: Value, dy: Value, w: Value, a: Conv2dAttrs): Value {
  const [O] = staticShape(w, 'Conv');
  const cols = im2col(g, x, a.k, a.s, a.d, a.pads, spatial(dy, 'Conv'));
  const dy2 = g.op1('Reshape', [g.op1('Transpose', [dy], { perm: [1, 0, 2, 3] }), g.i64([O, -1])]);
  const dw2 = g.op1('Gemm', [dy2, cols], { transB: 1 });
  return g.op1('Reshape', [dw2, g.i64(staticShape(w, 'Conv'))], {}, 'dw');
}

/**
 * Grouped: im2col's rows (c, a, b) split into G blocks of C/G channels, dy's into G blocks of O/G,
 * so dW[g] = dy_g [O/G, L] x cols_g^T [L, C/G*kh*kw], one MatMul batched over g (L = N*Ho*Wo).
 */
function groupedWeightGrad(g: Graph, x: Value, dy: Value, w: Value, a: Conv2dAttrs): Value {
  const [O, Cg, kh, kw] = staticShape(w, 'Conv');
  const G = a.group;
  const cols = im2col(g, x, a.k, a.s, a.d, a.pads, spatial(dy, 'Conv'));
  const colsG = g.op1('Transpose', [g.op1('Reshape', [cols, g.i64([G, Cg * kh * kw, -1])])], { perm: [0, 2, 1] });
  const dyG = g.op1('Reshape', [g.op1('Transpose', [dy], { perm: [1, 0, 2, 3] }), g.i64([G, O / G, -1])]);
  return g.op1('Reshape', [g.op1('MatMul', [dyG, colsG]), g.i64(staticShape(w, 'Conv'))], {}, 'dw');
}
