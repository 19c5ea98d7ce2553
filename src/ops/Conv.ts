import type { Value } from '../onnx/graph';
import type { OpDef } from './types';
import { convAttrs, convOut, flipSwap } from './conv-attrs';
import { im2col } from './im2col';

/**
 * 2-D convolution, group 1.
 * dX: for stride 1, a Conv of dy with the flipped, channel-swapped weight and pads d(k-1)-p
 *     (measured ~1.6x faster than ConvTranspose); otherwise ConvTranspose, the conv's adjoint.
 * dW: im2col of x and one Gemm with dy (see im2col.ts).  dB: sum of dy over n, h, w.
 */
export const Conv: OpDef = {
  shape: ([x, w], attrs) => {
    const a = convAttrs('Conv', w!, attrs);
    const H = convOut(x!.shape[2] as number, a.k[0], a.s[0], a.d[0], a.pads[0], a.pads[2]);
    const W = convOut(x!.shape[3] as number, a.k[1], a.s[1], a.d[1], a.pads[1], a.pads[3]);
    if (x!.shape[1] !== w!.shape[1]) throw new Error(`input channels ${x!.shape[1]} != weight's ${w!.shape[1]}`);
    return [{ shape: [x!.shape[0], w!.shape[0], H, W], dtype: 'float32' }];
  },
  grad: ({ g, inputs: [x, w, b], outputs: [y], attrs, dOut: [dy] }) => {
    const a = convAttrs('Conv', w!, attrs);
    const [kh, kw] = a.k;
    const H = x!.shape[2] as number;
    const W = x!.shape[3] as number;
    let dx: Value;
    const flipPads = [a.d[0] * (kh - 1) - a.pads[0], a.d[1] * (kw - 1) - a.pads[1], a.d[0] * (kh - 1) - a.pads[2], a.d[1] * (kw - 1) - a.pads[3]];
    if (a.s[0] === 1 && a.s[1] === 1 && flipPads.every((p) => p >= 0)) {
      dx = g.op1('Conv', [dy!, flipSwap(g, w!)], { kernel_shape: a.k, pads: flipPads, dilations: a.d }, 'dx');
    } else {
      const full = [a.s[0] * ((y.shape[2] as number) - 1) + a.d[0] * (kh - 1) + 1 - a.pads[0] - a.pads[2], a.s[1] * ((y.shape[3] as number) - 1) + a.d[1] * (kw - 1) + 1 - a.pads[1] - a.pads[3]];
      dx = g.op1('ConvTranspose', [dy!, w!], {
        kernel_shape: a.k, strides: a.s, dilations: a.d, pads: a.pads, output_padding: [H - full[0], W - full[1]],
      }, 'dx');
    }
    const O = w!.shape[0] as number;
    const cols = im2col(g, x!, a.k, a.s, a.d, a.pads, [y.shape[2] as number, y.shape[3] as number]);
    const dy2 = g.op1('Reshape', [g.op1('Transpose', [dy!], { perm: [1, 0, 2, 3] }), g.i64([O, -1])]);
    const dw2 = g.op1('Gemm', [dy2, cols], { transB: 1 });
    const dw = g.op1('Reshape', [dw2, g.i64(w!.shape as number[])], {}, 'dw');
    const db = b ? g.op1('ReduceSum', [dy!, g.i64([0, 2, 3])], { keepdims: 0 }, 'db') : null;
    return [dx, dw, db];
  },
};
