/**
 * The study's UNet family. `mode` picks how resolution changes:
 * - pool:   MaxPool 2x2 down; nearest upsample x2 + conv 3x3 (b -> b/2, `.upsampling`, `.conv`) up;
 * - stride: conv 3x3 stride 2 (`pool.k`, N -> N, no BN) down; ConvTranspose 2x2 stride 2 (`.strided_conv`) up;
 * - dilate: conv 2x2 dilated by H/2, no padding (`pool.k`) down, which maps H -> H - H/2 = H/2;
 *           ConvTranspose 2x2 dilated by H (`.dalated_conv`, the reference's spelling) up: H -> H-1+H+1 = 2H.
 */
import type { Value } from '../onnx/graph';
import { ModelBuilder, side } from './builder';

export type UNetMode = 'pool' | 'stride' | 'dilate';

export function buildUNet(mb: ModelBuilder, image: Value, mode: UNetMode, base: number): Value {
  const S = side(image);
  const c = [base, base * 2, base * 4, base * 8, base * 16];
  const down = (k: number, x: Value, ch: number): Value => {
    const h = side(x);
    if (mode === 'pool') return mb.maxPool(x);
    if (mode === 'stride') return mb.conv(`pool.${k}`, x, ch, ch, { k: 3, stride: 2, pad: 1 });
    return mb.conv(`pool.${k}`, x, ch, ch, { k: 2, pad: 0, dilation: h / 2 });
  };
  const up = (name: string, x: Value, b: number): Value => {
    const h = side(x);
    if (mode === 'pool') return mb.conv(`${name}.conv`, mb.upsample(x), b, b / 2);
    if (mode === 'stride') return mb.convTranspose(`${name}.strided_conv`, x, b, b / 2, { k: 2, stride: 2 });
    return mb.convTranspose(`${name}.dalated_conv`, x, b, b / 2, { k: 2, dilation: h });
  };
  if (S % 32 !== 0) throw new Error(`UNet: image size ${S} is not a multiple of 32`);
  const x1 = mb.block('conv1', image, 3, c[0]);
  const x2 = mb.block('conv2', down(0, x1, c[0]), c[0], c[1]);
  const x3 = mb.block('conv3', down(1, x2, c[1]), c[1], c[2]);
  const x4 = mb.block('conv4', down(2, x3, c[2]), c[2], c[3]);
  const bottle = up('bottle', mb.block('bottle', down(3, x4, c[3]), c[3], c[4]), c[4]);
  const cat = (skip: Value, x: Value) => mb.g.op1('Concat', [skip, x], { axis: 1 });
  const d4 = up('deconv4', mb.block('deconv4', cat(x4, bottle), c[4], c[3]), c[3]);
  const d3 = up('deconv3', mb.block('deconv3', cat(x3, d4), c[3], c[2]), c[2]);
  const d2 = up('deconv2', mb.block('deconv2', cat(x2, d3), c[2], c[1]), c[1]);
  const d1 = mb.block('deconv1', cat(x1, d2), c[1], c[0]);
  // `last` = Sequential(Conv2d(base, 1, 1), Sigmoid): the sigmoid is applied by the loss/probability head.
  return mb.conv('last.0', d1, c[0], 1, { k: 1, pad: 0 });
}
