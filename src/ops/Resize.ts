import type { OpDef } from './types';
import { unsupported } from './types';

/**
 * Nearest-neighbour upsampling by integer factors (scales input [1,1,f,f]), coordinate mode
 * 'asymmetric' with floor rounding, which is exactly PyTorch's nn.Upsample(mode='nearest').
 * Each input pixel feeds an f x f block, so dX = f^2 * AveragePool(dy, f, stride f).
 */
export const Resize: OpDef = {
  shape: ([x, , scales], attrs, g) => {
    if ((attrs.mode ?? 'nearest') !== 'nearest') unsupported('Resize', 'mode', attrs.mode);
    const sc = g.constValue(scales!);
    if (!sc) throw new Error('Resize: scales must be a constant');
    const f = Array.from(sc.data as Float32Array);
    return [{ shape: x!.shape.map((d, i) => (f[i] === 1 ? d : Math.floor((d as number) * f[i]))), dtype: x!.dtype }];
  },
  grad: ({ g, inputs: [, , scales], dOut: [dy] }) => {
    const f = Array.from(g.constValue(scales!)!.data as Float32Array);
    const [fh, fw] = [f[2], f[3]];
    if (f[0] !== 1 || f[1] !== 1 || !Number.isInteger(fh) || !Number.isInteger(fw)) unsupported('Resize', 'scales (gradient)', f);
    const avg = g.op1('AveragePool', [dy!], { kernel_shape: [fh, fw], strides: [fh, fw] });
    return [g.op1('Mul', [avg, g.f32(fh * fw)], {}, 'dx'), null, null];
  },
};
