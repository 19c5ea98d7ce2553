import type { Graph, Value } from '../onnx/graph';
import { op, str, unsupported } from './types';
import { staticDim } from './shapes';

/** The constant float scales of a Resize. */
export function resizeScales(g: Graph, scales: Value | null): number[] {
  const sc = scales && g.constValue(scales);
  if (!sc || !(sc.data instanceof Float32Array)) throw new Error('Resize: scales must be a float constant');
  return Array.from(sc.data);
}

/**
 * Nearest-neighbour upsampling by integer factors (scales input [1,1,f,f]), coordinate mode
 * 'asymmetric' with floor rounding, which is exactly PyTorch's nn.Upsample(mode='nearest').
 * Each input pixel feeds an f x f block, so dX = f^2 * AveragePool(dy, f, stride f).
 */
export const Resize = op<[x: Value, roi: Value | null, scales: Value | null]>({
  inputs: ['X', 'roi?', 'scales?'],
  shape: ([x, , scales], attrs, g) => {
    if (str(attrs, 'mode', 'nearest') !== 'nearest') unsupported('Resize', 'mode', attrs.mode);
    const f = resizeScales(g, scales);
    return [{ shape: x.shape.map((d, i) => (f[i] === 1 ? d : Math.floor(staticDim(d, 'Resize') * f[i]))), dtype: x.dtype }];
  },
  grad: ({ g, inputs: [, , scales], dy }) => {
    const f = resizeScales(g, scales);
    const [fh, fw] = [f[2], f[3]];
    if (f[0] !== 1 || f[1] !== 1 || !Number.isInteger(fh) || !Number.isInteger(fw)) unsupported('Resize', 'scales (gradient)', f);
    const avg = g.op1('AveragePool', [dy], { kernel_shape: [fh, fw], strides: [fh, fw] });
    return [g.op1('Mul', [avg, g.f32(fh * fw)], {}, 'dx'), null, null];
  },
});
