import type { Value } from '../onnx/graph';
import { op } from './types';
import { checkGroups, convAttrs, convTOut } from './conv-attrs';
import { im2col } from './im2col';
import { spatial, staticShape } from './shapes';

/**
 * 2-D transposed convolution; weight [Cin, Cout/G, kh, kw] for `group` G (each group maps Cin/G
 * input channels to Cout/G output channels; with G > 1 the sums below run within a group).
 * y[n,o,i*s+a*d-p, j*s+b*d-p] += x[n,c,i,j] * w[c,o,a,b], so
 * dX = Conv(dy, w) with the same strides, dilations and pads (the adjoint), and
 * dW[c,(o,a,b)] = sum_{n,i,j} x[n,c,i,j] * dyp[n,o,i*s+a*d,j*s+b*d]: im2col of dy and one Gemm
 * (G > 1: one MatMul batched over the groups, x's rows and the columns' rows split into G blocks).
 */
export const ConvTranspose = op<[x: Value, w: Value, b: Value | null]>({
  inputs: ['X', 'W', 'B?'],
  shape: ([x, w], attrs) => {
    const a = convAttrs('ConvTranspose', w, attrs);
    const [h, wd] = spatial(x, 'ConvTranspose');
    const H = convTOut(h, a.k[0], a.s[0], a.d[0], a.pads[0], a.pads[2], a.outPad[0]);
    const W = convTOut(wd, a.k[1], a.s[1], a.d[1], a.pads[1], a.pads[3], a.outPad[1]);
    if (x.shape[1] !== w.shape[0]) throw new Error(`input channels ${x.shape[1]} != weight's ${w.shape[0]}`);
    checkGroups('ConvTranspose', 'input channels', w.shape[0], a.group);
    const cout = a.group === 1 ? w.shape[1] : staticShape(w, 'ConvTranspose')[1] * a.group;
    return [{ shape: [x.shape[0], cout, H, W], dtype: 'float32' }];
  },
  grad: ({ g, inputs: [x, w, b], attrs, dy }) => {
    const a = convAttrs('ConvTranspose', w, attrs);
    const G = a.group;
    const dx = g.op1('Conv', [dy, w], { kernel_shape: a.k, strides: a.s, dilations: a.d, pads: a.pads, ...(G === 1 ? {} : { group: G }) }, 'dx');
    const [Cin, Cg, kh, kw] = staticShape(w, 'ConvTranspose');
    const cols = im2col(g, dy, a.k, a.s, a.d, a.pads, spatial(x, 'ConvTranspose'));
    const xt = g.op1('Transpose', [x], { perm: [1, 0, 2, 3] });
    const dw2 = G === 1
      ? g.op1('Gemm', [g.op1('Reshape', [xt, g.i64([Cin, -1])]), cols], { transB: 1 })
      : g.op1('MatMul', [
        g.op1('Reshape', [xt, g.i64([G, Cin / G, -1])]),
        g.op1('Transpose', [g.op1('Reshape', [cols, g.i64([G, Cg * kh * kw, -1])])], { perm: [0, 2, 1] }),
      ]);
    const dw = g.op1('Reshape', [dw2, g.i64(staticShape(w, 'ConvTranspose'))], {}, 'dw');
    const db = b ? g.op1('ReduceSum', [dy, g.i64([0, 2, 3])], { keepdims: 0 }, 'db') : null;
    return [dx, dw, db];
  },
});
