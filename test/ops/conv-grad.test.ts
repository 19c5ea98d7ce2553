import * as ort from 'onnxruntime-node';
import { gradients } from '../../src/autodiff';
import { Graph } from '../../src/onnx/graph';
import { sessionFor } from '../../src/onnx/session';
import { convAttrs } from '../../src/ops/conv-attrs';
import { im2colWeightGrad } from '../../src/ops/Conv';
import { pointwiseWeightGrad, shiftedWeightGrad } from '../../src/ops/conv-weight-grad';
import { input } from '../helpers/gradcheck';
import { CONV, testCases } from './fd-cases';

/** The op types of the weight gradient Conv's rule emits for these shapes. */
function dwOps(x: number[], w: number[], attrs: Record<string, number[]>): Set<string> {
  const g = new Graph('dw');
  const [xv, wv] = [g.input('x', x), g.input('w', w)];
  const y = g.op1('Conv', [xv, wv], attrs);
  const before = g.nodes.length;
  gradients(g, g.op1('ReduceSum', [y], { keepdims: 0 }), [wv]);
  return new Set(g.nodes.slice(before).map((n) => n.op));
}

describe('convolution gradients match finite differences', () => {
  testCases(CONV);
});

describe('the Conv rule picks the weight-gradient formulation the cases above are named for', () => {
  test('3x3, padding 1: shifted copies in one channel-major product (Gemm, no Slice)', () => {
    const ops = dwOps([2, 3, 6, 6], [4, 3, 3, 3], { pads: [1, 1, 1, 1] });
    expect([ops.has('Gemm'), ops.has('Slice')]).toEqual([true, false]);
  });
  test('3x3, padding 1, large image: shifted copies in per-image products (MatMul, no Slice)', () => {
    const ops = dwOps([1, 2, 48, 48], [2, 2, 3, 3], { pads: [1, 1, 1, 1] });
    expect([ops.has('MatMul'), ops.has('Slice')]).toEqual([true, false]);
  });
  test('stride 2 and dilation by half the input: im2col (Slice)', () => {
    expect(dwOps([2, 3, 8, 8], [3, 3, 3, 3], { pads: [1, 1, 1, 1], strides: [2, 2] }).has('Slice')).toBe(true);
    expect(dwOps([2, 3, 8, 8], [3, 3, 2, 2], { dilations: [4, 4] }).has('Slice')).toBe(true);
  });
});

/**
 * The rule picks a weight-gradient formulation by shape; every formulation it may pick must equal
 * im2col's (itself checked by finite differences above, on strided and dilated convs).
 */
describe('Conv weight-gradient formulations agree', () => {
  test('every layout x copies combination of the shifted form, and both 1x1 products, equal im2col + Gemm', async () => {
    const g = new Graph('dw');
    const [N, C, O, H, W] = [2, 3, 4, 6, 5];
    const x = g.input('x', [N, C, H, W]);
    const dy = g.input('dy', [N, O, H, W + 1]);
    const w = g.input('w', [O, C, 3, 3]);
    const a = convAttrs('Conv', w, { pads: [1, 0, 1, 3], dilations: [1, 2] });
    g.output(im2colWeightGrad(g, x, dy, w, a), 'ref');
    const variants = [['batched', 'stack'], ['batched', 'split'], ['batched', 'split-all'], ['channels', 'stack'], ['channels', 'split'], ['channels', 'split-all']] as const;
    variants.forEach(([layout, xs], k) => g.output(shiftedWeightGrad(g, x, dy, w, a, layout, xs), `v${k}`));
    const dy1 = g.input('dy1', [N, O, H, W]);
    const w1 = g.input('w1', [O, C, 1, 1]);
    g.output(im2colWeightGrad(g, x, dy1, w1, convAttrs('Conv', w1, {})), 'ref1');
    g.output(pointwiseWeightGrad(g, x, dy1, w1, 'batched'), 'p0');
    g.output(pointwiseWeightGrad(g, x, dy1, w1, 'channels'), 'p1');
    const s = await sessionFor(g);
    const feeds = Object.fromEntries(
      [input('x', [N, C, H, W], 56), input('dy', [N, O, H, W + 1], 57), input('w', [O, C, 3, 3], 58), input('dy1', [N, O, H, W], 59), input('w1', [O, C, 1, 1], 60)]
        .map((i) => [i.name, new ort.Tensor('float32', i.data, i.shape)]),
    );
    const r = await s.run(feeds);
    const worst = (out: string, ref: string) => {
      const [v, e] = [r[out].data as Float32Array, r[ref].data as Float32Array];
      expect(r[out].dims).toEqual(r[ref].dims);
      return Math.max(...Array.from(e, (x, i) => Math.abs(v[i] - x) / (1 + Math.abs(x))));
    };
    variants.forEach((_, k) => expect([k, worst(`v${k}`, 'ref') < 1e-5]).toEqual([k, true]));
    expect(worst('p0', 'ref1')).toBeLessThan(1e-5);
    expect(worst('p1', 'ref1')).toBeLessThan(1e-5);
  });
});
