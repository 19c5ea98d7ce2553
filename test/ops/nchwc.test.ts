import * as ort from 'onnxruntime-node';
import { initialCheckpoint, parameterSpecs, resolveConfig, trainingGraph } from '../../src/graphs';
import { Graph } from '../../src/onnx/graph';
import * as N from '../../src/onnx/names';
import { serialize } from '../../src/onnx/proto';
import { nchwcBlockSize, sessionFor } from '../../src/onnx/run';
import { nchwcConvs } from '../../src/ops/Nchwc';
import { input } from '../helpers/gradcheck';
import { relErr } from '../helpers/compare';
import { randn, seeded } from '../helpers/random';

/**
 * The optional onnxruntime-specific lowering (lowering.nchwc): convolutions on com.microsoft.nchwc
 * kernels with weights reordered in the graph must compute what the standard graph computes.
 */
describe('NCHWc lowering of convolutions', () => {
  let B = 0;
  beforeAll(async () => {
    B = await nchwcBlockSize();
    if (!B) console.warn('nchwc tests skipped: this onnxruntime build/CPU has no com.microsoft.nchwc kernels');
  });


  test.each([
    ['blocked input, 3x3 pad 1, bias', 16, 32, 3, { pads: [1, 1, 1, 1] }],
    ['NCHW input (3 channels)', 3, 16, 3, { pads: [1, 1, 1, 1] }],
    ['2x2 kernel, asymmetric padding', 32, 16, 2, { pads: [1, 0, 0, 1] }],
    ['3x3 stride 2', 16, 16, 3, { pads: [1, 1, 1, 1], strides: [2, 2] }],
  ] as const)('%s: same output as Conv', async (_n, C, O, k, attrs) => {
    if (!B) return;
    const build = (nchwc: boolean) => {
      const g = new Graph('c');
      const y = g.op1('Conv', [g.input('x', [2, C, 9, 8]), g.input('w', [O, C, k, k]), g.input('b', [O])], { ...attrs });
      g.output(y, 'y');
      if (nchwc) expect(nchwcConvs(g, B, () => true)).toBe(1);
      return g;
    };
    const feeds = Object.fromEntries([input('x', [2, C, 9, 8], 1), input('w', [O, C, k, k], 2, 0.3), input('b', [O], 3)].map((i) => [i.name, new ort.Tensor('float32', i.data, i.shape)]));
    const ref = (await (await sessionFor(build(false))).run(feeds)).y;
    const out = (await (await sessionFor(build(true))).run(feeds)).y;
    expect(out.dims).toEqual(ref.dims);
    expect(relErr(out.data as Float32Array, ref.data as Float32Array)).toBeLessThan(1e-5);
  });

  test('a whole training graph gives the standard graph\'s loss and gradients', async () => {
    if (!B) return;
    const S = 32;
    const specs = parameterSpecs(resolveConfig({ model: 1, loss: 9, imageSize: S, width: 0.25, seed: 2 }));
    const ck = initialCheckpoint(resolveConfig({ model: 1, loss: 9, imageSize: S, width: 0.25, seed: 2 }), specs);
    const rand = seeded(9);
    const feeds: Record<string, ort.Tensor> = {
      [N.IMAGE]: new ort.Tensor('float32', randn(rand, 2 * 3 * S * S), [2, 3, S, S]),
      [N.MASK]: new ort.Tensor('float32', new Float32Array(2 * S * S).map((_, i) => (i % 7 < 3 ? 1 : 0)), [2, 1, S, S]),
    };
    for (const p of specs.filter((q) => q.graphInput)) feeds[p.name] = new ort.Tensor('float32', ck.params[p.name].data as Float32Array, p.shape);
    const run = async (nchwc: number) => {
      const g = trainingGraph(resolveConfig({ model: 1, loss: 9, imageSize: S, width: 0.25, seed: 2, lowering: { nchwc } }));
      if (nchwc) expect(g.opCounts().NchwcConv ?? 0).toBeGreaterThan(10);
      return (await ort.InferenceSession.create(serialize(g))).run(feeds);
    };
    const ref = await run(0);
    const out = await run(B);
    expect(out[N.LOSS].data[0] as number).toBeCloseTo(ref[N.LOSS].data[0] as number, 5);
    for (const p of specs.filter((q) => q.trainable)) {
      const a = out[N.gradName(p.name)].data as Float32Array;
      const b = ref[N.gradName(p.name)].data as Float32Array;
      const norm = Math.sqrt(b.reduce((t, x) => t + x * x, 0));
      if (norm > 1e-6) expect(relErr(a, b)).toBeLessThan(1e-4);
    }
  });
});
