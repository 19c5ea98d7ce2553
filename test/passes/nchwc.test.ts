import * as ort from 'onnxruntime-node';
import { Graph } from '../../src/onnx/graph';
import { cpuIsa, nchwcBlockSize } from '../../src/onnx/cpu';
import { sessionFor } from '../../src/onnx/session';
import { nchwcPass } from '../../src/passes/nchwc';
import { input } from '../helpers/gradcheck';
import { relErr } from '../helpers/compare';

/**
 * The CPU pipeline's NCHWc pass: convolutions on com.microsoft.nchwc kernels with weights reordered
 * in the graph must compute what the standard Conv computes. (Whole training graphs: pipeline.test.ts.)
 * MLAS has NCHWc kernels on x86-64 with AVX2 (block 8) or AVX-512 (block 16): there, a runtime
 * without them is a fault and these tests fail saying so. Elsewhere (ARM, older x86) no kernel exists
 * to test, and the block is skipped under a name that says why.
 */
const ISA = cpuIsa();
const EXPECTED_BLOCK = ISA === 'AVX-512' ? 16 : ISA === 'AVX2' ? 8 : 0;
const describeOnNchwcCpu = EXPECTED_BLOCK ? describe : describe.skip;

describeOnNchwcCpu(`pass nchwc: convolutions on onnxruntime's blocked kernels (${EXPECTED_BLOCK ? ISA : `skipped: this CPU (${ISA}) has neither AVX2 nor AVX-512, so MLAS has no NCHWc kernels`})`, () => {
  let B = 0;
  beforeAll(async () => {
    B = await nchwcBlockSize();
  });

  test(`onnxruntime runs com.microsoft.nchwc kernels with block ${EXPECTED_BLOCK} on this ${ISA} CPU`, () => {
    expect(B).toBe(EXPECTED_BLOCK);
  });

  test.each<[string, number, number, number, Record<string, number[]>]>([
    ['blocked input, 3x3 pad 1, bias', 16, 32, 3, { pads: [1, 1, 1, 1] }],
    ['NCHW input (3 channels)', 3, 16, 3, { pads: [1, 1, 1, 1] }],
    ['2x2 kernel, asymmetric padding', 32, 16, 2, { pads: [1, 0, 0, 1] }],
    ['3x3 stride 2', 16, 16, 3, { pads: [1, 1, 1, 1], strides: [2, 2] }],
  ])('%s: same output as Conv', async (_n, C, O, k, attrs) => {
    expect(B).toBe(EXPECTED_BLOCK);
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
});

describe('pass nchwc: which convolutions it rewrites (graph only, any CPU)', () => {
  test('the default filter leaves wide, 3-channel and unblockable convolutions alone', () => {
    const g = new Graph('f');
    const conv = (C: number, O: number) => g.output(g.op1('Conv', [g.input(`x${C}_${O}`, [1, C, 8, 8]), g.input(`w${C}_${O}`, [O, C, 3, 3])], { pads: [1, 1, 1, 1] }));
    [[16, 16], [32, 16], [3, 16], [64, 64], [24, 16]].forEach(([C, O]) => conv(C, O));
    expect(nchwcPass(16).run(g)).toBe(2);
  });
});
