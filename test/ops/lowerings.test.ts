import * as ort from 'onnxruntime-node';
import { chain } from '../../src/bench/chain';
import { initialCheckpoint, parameterSpecs, resolveConfig, trainingGraph } from '../../src/graphs';
import { MODELS } from '../../src/models';
import type { Lowering } from '../../src/onnx/graph';
import * as N from '../../src/onnx/names';
import { serialize } from '../../src/onnx/proto';
import { nchwcBlockSize } from '../../src/onnx/run';
import { relErr } from '../helpers/compare';
import { randn, seeded } from '../helpers/random';

/**
 * Every formulation switch (src/onnx/graph.ts Lowering, as cumulated in src/bench/chain.ts, plus the
 * 2x2 up-convolutions as GEMMs) must compute the same loss, gradients and BN statistics as the
 * default on whole networks; the default itself is checked against PyTorch in reference.test.ts.
 */
describe('formulation switches agree on whole training graphs', () => {
  const S = 32;
  const W = 0.25;
  const norm = (a: Float32Array) => Math.sqrt(a.reduce((t, x) => t + x * x, 0));

  test.each(MODELS.map((m) => [m.name, m.id]))('%s', async (_name, model) => {
    const block = await nchwcBlockSize();
    const variants: { name: string; lowering: Lowering }[] = [...chain(block), { name: 'upConv2x2 gemm', lowering: { upConv2x2: 'gemm' } },
      { name: 'MaxUnpool and SpaceToDepth ops', lowering: { maxPoolGrad: 'unpool', spaceToDepth: 'op' } }];
    const size = model === 0 ? 64 : S;
    const base = resolveConfig({ model, loss: 9, imageSize: size, width: W, seed: 4 });
    const specs = parameterSpecs(base);
    const ck = initialCheckpoint(base, specs);
    const rand = seeded(20 + model);
    const n = model === 0 ? 4 : 2;
    const feeds: Record<string, ort.Tensor> = {
      [N.IMAGE]: new ort.Tensor('float32', randn(rand, n * 3 * size * size), [n, 3, size, size]),
      [N.MASK]: new ort.Tensor('float32', new Float32Array(n * size * size).map((_, i) => ((i >> 3) % 3 === 0 ? 1 : 0)), [n, 1, size, size]),
    };
    for (const p of specs.filter((q) => q.graphInput)) feeds[p.name] = new ort.Tensor('float32', ck.params[p.name].data as Float32Array, p.shape);
    const run = async (lowering: Lowering) => {
      const g = trainingGraph(resolveConfig({ model, loss: 9, imageSize: size, width: W, seed: 4, lowering }));
      return (await ort.InferenceSession.create(serialize(g))).run(feeds);
    };
    const ref = await run({});
    // SegNet at 64 px is ill-conditioned in float32: perturbing its input by 1e-7 (relative) moves its
    // gradients by ~3e-3 (its deepest BatchNorm sees N*2*2 values; its output is ReLU(BN(1 channel)));
    // any change of summation order does as much. The UNets agree to 1e-4.
    const tol = model === 0 ? 1e-2 : 1e-4;
    const trainable = specs.filter((q) => q.trainable);
    const maxNorm = Math.max(...trainable.map((p) => norm(ref[N.gradName(p.name)].data as Float32Array)));
    for (const v of variants) {
      const out = await run(v.lowering);
      expect([v.name, out[N.LOSS].data[0]]).toEqual([v.name, expect.closeTo(ref[N.LOSS].data[0] as number, 5)]);
      for (const p of trainable) {
        const a = out[N.gradName(p.name)].data as Float32Array;
        const b = ref[N.gradName(p.name)].data as Float32Array;
        // conv biases before BatchNorm have gradients that are zero in theory: compare those absolutely
        const err = norm(b) < 1e-6 * maxNorm ? norm(a) / maxNorm : relErr(a, b);
        expect([v.name, p.name, err < tol ? 'ok' : err]).toEqual([v.name, p.name, 'ok']);
      }
      for (const p of specs.filter((q) => q.name.endsWith('.running_var'))) {
        expect([v.name, p.name, relErr(out[N.nextName(p.name)].data as Float32Array, ref[N.nextName(p.name)].data as Float32Array) < 1e-5]).toEqual([v.name, p.name, true]);
      }
    }
  });
});
