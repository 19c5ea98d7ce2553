/**
 * FLOP model of one training step, from the convolutions of the forward graph (every other op is
 * memory-bound and small in FLOPs next to them):
 *   Conv           2 * N * Cout * Ho * Wo * Cin/G * kh * kw    (a multiply-add = 2 FLOPs; G = group)
 *   ConvTranspose  2 * N * Cin  * H  * W  * Cout * kh * kw      (each input pixel scatters a k x k patch)
 * Backward = dW (the same count) + dX (the same count, except for a layer whose input is the image,
 * which needs no dX: neither melseg's autodiff nor PyTorch computes it). So a step is ~3x forward.
 * The count is of the model as defined (a 3x3 conv of an upsampled image counted at full resolution,
 * a dilated conv by its taps), independent of how melseg lowers it, so it is the same number for
 * melseg and PyTorch; melseg's sub-pixel up-convolutions do fewer multiply-adds than counted.
 */
import type { ResolvedConfig } from '../src/graphs';
import { forward } from '../src/models';
import { Graph } from '../src/onnx/graph';
import { IMAGE } from '../src/onnx/names';

export interface FlopCount {
  forward: number;
  backward: number;
  step: number;
  convs: number;
}

export function stepFlops(c: ResolvedConfig, batch: number): FlopCount {
  // the layers as the model defines them, before the pipeline's rewrites (sub-pixel up-convolutions
  // do less work: the count is of the model, the same for melseg and PyTorch)
  const g = new Graph('flops');
  forward(g, c.model, 'train', c.imageSize, c.width);
  let fwd = 0;
  let bwd = 0;
  let convs = 0;
  for (const n of g.nodes) {
    if (n.op !== 'Conv' && n.op !== 'ConvTranspose') continue;
    const x = g.value(n.inputs[0]);
    const w = g.value(n.inputs[1]);
    const y = g.value(n.outputs[0]);
    const [, wo, kh, kw] = w.shape.map(Number);
    const [, xc, xh, xw] = x.shape.map(Number);
    const [, yc, yh, yw] = y.shape.map(Number);
    // a grouped Conv sums over its group's xc/group input channels; ConvTranspose's w.shape[1] is already per group
    const group = typeof n.attrs.group === 'number' ? n.attrs.group : 1;
    const f = n.op === 'Conv' ? 2 * batch * yc * yh * yw * (xc / group) * kh * kw : 2 * batch * xc * xh * xw * wo * kh * kw;
    fwd += f;
    bwd += n.inputs[0] === IMAGE ? f : 2 * f;
    convs++;
  }
  return { forward: fwd, backward: bwd, step: fwd + bwd, convs };
}
