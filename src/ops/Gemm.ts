import type { OpDef } from './types';

/** Matrix products appear only inside gradient rules (im2col weight gradients): shape rules only. */
export const Gemm: OpDef = {
  shape: ([a, b], attrs) => {
    const m = attrs.transA ? a!.shape[1] : a!.shape[0];
    const n = attrs.transB ? b!.shape[0] : b!.shape[1];
    return [{ shape: [m, n], dtype: a!.dtype }];
  },
};

export const MatMul: OpDef = {
  shape: ([a, b]) => [{ shape: [...a!.shape.slice(0, -1), b!.shape[b!.shape.length - 1]], dtype: a!.dtype }],
};
