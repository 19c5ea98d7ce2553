import * as ort from 'onnxruntime-node';
import { Graph } from '../../src/onnx/graph';
import { nchwcBlockSize } from '../../src/onnx/cpu';
import { sessionFor } from '../../src/onnx/session';
import { nchwcPass } from '../../src/passes/nchwc';
import { input } from '../helpers/gradcheck';
import { relErr } from '../helpers/compare';

/**
 * The CPU pipeline's NCHWc pass: convolutions on com.microsoft.nchwc kernels with weights reordered
 * in the graph must compute what the standard Conv computes. (Whole training graphs: pipeline.test.ts.)
 */
describe('pass nchwc: convolutions on onnxruntime\'s blocked kernels', () => {
  let B = 0;
  beforeAll(async () => {
    B = await nchwcBlockSize();
    if (!B) console.warn('nchwc tests skipped: this onnxruntime build/CPU has no com.microsoft.nchwc kernels');
  });

  test.each<[string, number, number, number, Record<string, number[]>]>([
    ['blocked input, 3x3 pad 1, bias', 16, 32, 3, { pads: [1, 1, 1, 1] }],
    ['NCHW input (3 channels)', 3, 16, 3, { pads: [1, 1, 1, 1] }],
    ['2x2 kernel, asymmetric padding', 32, 16, 2, { pads: [1, 0, 0, 1] }],
    ['3x3 stride 2', 16, 16, 3, { pads: [1, 1, 1, 1], strides: [2, 2] }],
  ])('%s: same output as Conv', async (_n, C, O, k, attrs) => {
    if (!B) return;
    const build = (nchwc: boolean) => {
      const g = new Graph('c');
      g.output(g.op1('Conv', [g.input('x', [2, C, 9, 8]), g.input('w', [O, C, k, k]), g.input('b', [O])], attrs), 'y');
      if (nchwc) expect(nchwcPass(B, () => true).run(g)).toBe(1);
      return g;
    };
    const feeds = Object.fromEntries([input('x', [2, C, 9, 8], 1), input('w', [O, C, k, k], 2, 0.3), input('b', [O], 3)].map((i) => [i.name, new ort.Tensor('float32', i.data, i.shape)]));
    const ref = (await (await sessionFor(build(false))).run(feeds)).y;
    const out = (await (await sessionFor(build(true))).run(feeds)).y;
    expect(out.dims).toEqual(ref.dims);
    expect(relErr(out.data as Float32Array, ref.data as Float32Array)).toBeLessThan(1e-5);
  });

  test('the default filter leaves wide, 3-channel and unblockable convolutions alone', () => {
    const g = new Graph('f');
    const conv = (C: number, O: number) => g.output(g.op1('Conv', [g.input(`x${C}_${O}`, [1, C, 8, 8]), g.input(`w${C}_${O}`, [O, C, 3, 3])], { pads: [1, 1, 1, 1] }));
    [[16, 16], [32, 16], [3, 16], [64, 64], [24, 16]].forEach(([C, O]) => conv(C, O));
    expect(nchwcPass(16).run(g)).toBe(2);
  });
});
