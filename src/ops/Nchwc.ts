/**
 * onnxruntime's blocked-layout CPU kernels (domain com.microsoft.nchwc, in every released CPU build):
 * the layout ORT's own optimizer uses for convolutions with constant weights. A tensor in NCHWc has
 * the logical shape [N, C, H, W] (C a multiple of the block size B: 16 with AVX-512, 8 with AVX2)
 * and the memory order [N, C/B, H, W, B]. Emitted only by the CPU pipeline's NCHWc pass
 * (src/passes/nchwc.ts), after the gradients, so these rules have none.
 */
import type { Value } from '../onnx/graph';
import { intRequired, op } from './types';
import { convAttrs, convOut } from './conv-attrs';
import { UNARY, type Unary } from './elementwise';
import { spatial, staticDim } from './shapes';

const NCHWC = 'com.microsoft.nchwc';

/** NCHW -> NCHWc; channels are padded with zeros to a multiple of B (attribute `_block`: melseg's record of B, not written to the file). */
export const ReorderInput = op<Unary>({
  domain: NCHWC,
  onnxType: 'ReorderInput',
  inputs: UNARY,
  shape: ([x], attrs) => {
    const B = intRequired('ReorderInput', attrs, '_block');
    const C = staticDim(x.shape[1], 'ReorderInput');
    return [{ shape: [x.shape[0], Math.ceil(C / B) * B, x.shape[2], x.shape[3]], dtype: 'float32' }];
  },
});

/** NCHWc -> NCHW, keeping the first `channels` channels. */
export const ReorderOutput = op<Unary>({
  domain: NCHWC,
  onnxType: 'ReorderOutput',
  inputs: UNARY,
  shape: ([x], attrs) => [{ shape: [x.shape[0], intRequired('ReorderOutput', attrs, 'channels'), x.shape[2], x.shape[3]], dtype: 'float32' }],
});

/**
 * Conv on NCHWc activations. W must already be in the kernel's blocked order (OIHWBiBo, or OIHWBo
 * when the input has fewer than B channels and stays NCHW); B (bias) is padded to the blocked count.
 */
export const NchwcConv = op<[x: Value, w: Value, b: Value | null]>({
  domain: NCHWC,
  onnxType: 'Conv',
  inputs: ['X', 'W', 'B?'],
  shape: ([x, w], attrs) => {
    const a = convAttrs('NchwcConv', w, attrs);
    const [h, wd] = spatial(x, 'NchwcConv');
    const H = convOut(h, a.k[0], a.s[0], a.d[0], a.pads[0], a.pads[2]);
    const W = convOut(wd, a.k[1], a.s[1], a.d[1], a.pads[1], a.pads[3]);
    return [{ shape: [x.shape[0], w.shape[0], H, W], dtype: 'float32' }];
  },
});
