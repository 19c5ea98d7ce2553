/**
 * The study's SegNet: five encoder blocks (each + MaxPool 2x2) and five decoder blocks (each + nearest
 * upsample x2). Two-conv blocks are Sequential(conv, BN, ReLU, conv, BN, ReLU) (keys .0 .1 .3 .4);
 * three-conv blocks append `conv`, `batch`, `relu` modules. In the decoder the first convs keep the
 * input width and the last one changes it, so deconv1 ends in conv(64->1) + BN(1) + ReLU: the network's
 * output is a ReLU, and sigmoid(ReLU(.)) is never below 0.5. A quirk of the study, kept on purpose.
 */
import type { Value } from '../onnx/graph';
import { ModelBuilder } from './builder';

export function buildSegNet(mb: ModelBuilder, image: Value, base: number): Value {
  const c = [base, base * 2, base * 4, base * 8, base * 8];
  const block = (name: string, x: Value, widths: number[]): Value => {
    // widths: [in, w1, w2(, w3)] = output width of each conv in turn
    let h = mb.convBnRelu(`${name}.0`, `${name}.1`, x, widths[0], widths[1]);
    h = mb.convBnRelu(`${name}.3`, `${name}.4`, h, widths[1], widths[2]);
    if (widths.length === 4) h = mb.convBnRelu(`${name}.conv`, `${name}.batch`, h, widths[2], widths[3]);
    return h;
  };
  let x = image;
  x = mb.maxPool(block('conv1', x, [3, c[0], c[0]]));
  x = mb.maxPool(block('conv2', x, [c[0], c[1], c[1]]));
  x = mb.maxPool(block('conv3', x, [c[1], c[2], c[2], c[2]]));
  x = mb.maxPool(block('conv4', x, [c[2], c[3], c[3], c[3]]));
  x = mb.maxPool(block('conv5', x, [c[3], c[4], c[4], c[4]]));
  x = mb.upsample(block('deconv5', x, [c[4], c[4], c[4], c[3]]));
  x = mb.upsample(block('deconv4', x, [c[3], c[3], c[3], c[2]]));
  x = mb.upsample(block('deconv3', x, [c[2], c[2], c[2], c[1]]));
  x = mb.upsample(block('deconv2', x, [c[1], c[1], c[0]]));
  x = mb.upsample(block('deconv1', x, [c[0], c[0], 1]));
  return x;
}
