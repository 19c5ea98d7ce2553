import * as ort from 'onnxruntime-node';
import { Graph, type Lowering } from '../../src/onnx/graph';
import { sessionFor } from '../../src/onnx/run';
import { convAttrs } from '../../src/ops/conv-attrs';
import { im2col } from '../../src/ops/im2col';
import { shiftedWeightGrad } from '../../src/ops/conv-weight-grad';
import { gradCheck, input } from '../helpers/gradcheck';

const TOL = 2e-3;

/**
 * Every weight-gradient formulation of Conv (src/ops/conv-weight-grad.ts, im2col.ts), pinned through
 * g.lowering, against finite differences: the default picks by shape, so each path is forced here.
 */
describe('Conv weight-gradient formulations match finite differences', () => {
  const pinned: [string, Lowering][] = [
    ['shifted, per-image products', { convWeightGrad: 'shifted', weightGradLayout: 'batched' }],
    ['shifted, channel-major product', { convWeightGrad: 'shifted', weightGradLayout: 'channels' }],
    ['im2col', { convWeightGrad: 'im2col' }],
  ];
  test.each(pinned)('3x3, padding 1, %s', async (_n, lowering) => {
    const r = await gradCheck((g, [x, w, b]) => {
      g.lowering = lowering;
      return g.op1('Conv', [x, w, b], { pads: [1, 1, 1, 1] });
    }, [input('x', [2, 3, 6, 5], 41), input('w', [4, 3, 3, 3], 42, 0.3), input('b', [4], 43)]);
    expect(r.worst).toBeLessThan(TOL);
  });

  test.each(pinned)('2x3 kernel, dilation 2x1, asymmetric padding, %s', async (_n, lowering) => {
    const r = await gradCheck((g, [x, w]) => {
      g.lowering = lowering;
      return g.op1('Conv', [x, w], { pads: [0, 2, 1, 0], dilations: [2, 1] });
    }, [input('x', [2, 3, 7, 6], 44), input('w', [2, 3, 2, 3], 45, 0.3)]);
    expect(r.worst).toBeLessThan(TOL);
  });

  test.each(pinned)('2x2 dilated by half the input (UNet_dilate pooling), %s', async (_n, lowering) => {
    const r = await gradCheck((g, [x, w]) => {
      g.lowering = lowering;
      return g.op1('Conv', [x, w], { dilations: [4, 4] });
    }, [input('x', [2, 3, 8, 8], 46), input('w', [3, 3, 2, 2], 47, 0.3)]);
    expect(r.worst).toBeLessThan(TOL);
  });

  test.each([['per-image', 'batched'], ['channel-major', 'channels']] as const)('1x1 conv, %s product', async (_n, layout) => {
    const r = await gradCheck((g, [x, w, b]) => {
      g.lowering = { weightGradLayout: layout };
      return g.op1('Conv', [x, w, b]);
    }, [input('x', [2, 5, 4, 3], 48), input('w', [3, 5, 1, 1], 49, 0.3), input('b', [3], 50)]);
    expect(r.worst).toBeLessThan(TOL);
  });

  test.each(pinned)('a symbolic batch dimension, %s', async (_n, lowering) => {
    const r = await gradCheck((g, [x, w]) => {
      g.lowering = lowering;
      return g.op1('Conv', [x, w], { pads: [1, 1, 1, 1] });
    }, [input('x', [3, 2, 5, 5], 51), input('w', [2, 2, 3, 3], 52, 0.3)], { symbolicBatch: ['x'] });
    expect(r.worst).toBeLessThan(TOL);
  });

  // The x copies split into separate products (the per-image default) or stacked (the channel-major
  // default): every combination must give the im2col weight gradient.
  test('every layout x copies combination equals the im2col weight gradient', async () => {
    const g = new Graph('dw');
    const [N, C, O, H, W] = [2, 3, 4, 6, 5];
    const x = g.input('x', [N, C, H, W]);
    const dy = g.input('dy', [N, O, H, W + 1]);
    const w = g.input('w', [O, C, 3, 3]);
    const a = convAttrs('Conv', w, { pads: [1, 0, 1, 3], dilations: [1, 2] });
    const cols = im2col(g, x, a.k, a.s, a.d, a.pads, [H, W + 1]);
    const dy2 = g.op1('Reshape', [g.op1('Transpose', [dy], { perm: [1, 0, 2, 3] }), g.i64([O, -1])]);
    g.output(g.op1('Reshape', [g.op1('Gemm', [dy2, cols], { transB: 1 }), g.i64([O, C, 3, 3])]), 'ref');
    const variants = [['batched', 'stack'], ['batched', 'split'], ['batched', 'split-all'], ['channels', 'stack'], ['channels', 'split'], ['channels', 'split-all']] as const;
    variants.forEach(([layout, xs], k) => g.output(shiftedWeightGrad(g, x, dy, w, a, layout, xs), `v${k}`));
    const s = await sessionFor(g);
    const feeds = Object.fromEntries([input('x', [N, C, H, W], 56), input('dy', [N, O, H, W + 1], 57), input('w', [O, C, 3, 3], 58)].map((i) => [i.name, new ort.Tensor('float32', i.data, i.shape)]));
    const r = await s.run(feeds);
    const ref = r.ref.data as Float32Array;
    variants.forEach((_, k) => {
      const v = r[`v${k}`].data as Float32Array;
      expect(r[`v${k}`].dims).toEqual([O, C, 3, 3]);
      let worst = 0;
      for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(v[i] - ref[i]) / (1 + Math.abs(ref[i])));
      expect(worst).toBeLessThan(1e-5);
    });
  });
});
