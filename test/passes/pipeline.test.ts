import * as ort from 'onnxruntime-node';
import { initialCheckpoint, parameterSpecs, pipeline, resolveConfig, trainingGraph, type ResolvedConfig, type Target } from '../../src/graphs';
import { DEVICE_PASSES, type Pipeline } from '../../src/graphs/pipeline';
import { MODELS } from '../../src/models';
import { nchwcBlockSize } from '../../src/onnx/cpu';
import * as N from '../../src/onnx/names';
import { serialize } from '../../src/onnx/proto';
import { relErr } from '../helpers/compare';
import { randn, seeded } from '../helpers/random';

/** The models' and rules' own ops, no rewrite: the reference every pipeline must agree with. */
const PLAIN: Pipeline = { tag: 'plain', rewrites: [], devicePasses: [DEVICE_PASSES['lower-composites'], DEVICE_PASSES.prune] };

const names = (p: Pipeline) => [...p.rewrites, ...p.devicePasses].map((q) => q.name);

describe('the pipeline per target', () => {
  const c = resolveConfig({ model: 1, loss: 9, imageSize: 128, width: 0.25 });

  test('every target rewrites the same formulations; each GPU gets forms of the ops it lacks', () => {
    const rewrites = ['subpixel-upconv', 'quadrant-dilated-conv', 'lower-composites'];
    expect(names(pipeline(c, { device: 'cpu' }))).toEqual([...rewrites, 'prune', 'backward-side-inputs-first']);
    expect(names(pipeline(c, { device: 'cuda' }))).toEqual([...rewrites, 'maxpool-grad-by-comparison', 'maxpool-without-indices', 'prune', 'backward-side-inputs-first', 'check-cuda']);
    const gpu = [...rewrites, 'maxpool-grad-by-comparison', 'space-to-depth-by-transpose', 'maxpool-without-indices', 'conv-tail-pad', 'prune', 'backward-side-inputs-first'];
    expect(names(pipeline(c, { device: 'webgpu' }))).toEqual([...gpu, 'check-webgpu']);
    expect(names(pipeline(c, { device: 'portable' }))).toEqual([...gpu, 'check-cuda-webgpu']);
  });

  test('--nchwc adds the NCHWc pass on the CPU, names the block in the tag, and is refused elsewhere or without the kernels', () => {
    const forced = resolveConfig({ model: 1, loss: 9, imageSize: 128, width: 0.25, nchwc: true });
    const p = pipeline(forced, { device: 'cpu', nchwcBlock: 16 });
    expect([p.tag, names(p).slice(-3)]).toEqual(['cpu-nchwc16', ['nchwc16', 'prune', 'backward-side-inputs-first']]);
    expect(pipeline(resolveConfig({ model: 1, loss: 9, imageSize: 256, width: 1, nchwc: false }), { device: 'cpu', nchwcBlock: 8 }).tag).toBe('cpu');
    expect(() => pipeline(forced, { device: 'cuda' })).toThrow(/--nchwc with --device cuda: .*CPU-only/);
    expect(() => pipeline(forced, { device: 'cpu', nchwcBlock: 0 })).toThrow(/--nchwc: this onnxruntime-node build has no com\.microsoft\.nchwc kernels/);
  });
});

async function runTraining(c: ResolvedConfig, p: Target | Pipeline, feeds: Record<string, ort.Tensor>) {
  const s = await ort.InferenceSession.create(serialize(trainingGraph(c, p)), { intraOpNumThreads: 1 });
  const r = await s.run(feeds);
  await s.release();
  return r;
}

/**
 * Whole training graphs: every target's pipeline against the plain graph. The comparison resolves
 * only what float32 rounding lets it: a pass changes the order of sums, and a network amplifies
 * such changes by its conditioning. So the error is measured on all gradients together (one norm: a
 * tensor whose gradient is ~0 in theory, e.g. a conv bias before BatchNorm, cannot dominate), and
 * compared with the plain graph's own change when its input moves by one ulp (float32's 2^-23,
 * relative), measured here on the same inputs, on whatever CPU runs the test. Measured on AVX-512:
 * the UNets move by 1-2e-6 and their pipelines differ by 1e-6; SegNet (max-pools and ReLUs at 2x2,
 * ReLU(BatchNorm) at its output) moves by 2e-3 to 1e-2 in every regime tried (32-128 px, 2-16
 * images, widths 1/16-1/4), and its pipelines by 5e-4.
 */
describe('every target\'s pipeline computes the plain graph\'s loss, gradients and BN statistics', () => {
  jest.setTimeout(600_000);

  test.each(MODELS.map((m) => [m.name, m.id]))('%s', async (_name, model) => {
    const block = await nchwcBlockSize();
    const size = model === 0 ? 64 : 32;
    const cfg = { model, loss: 9, imageSize: size, width: 0.25, seed: 4 };
    const c = resolveConfig(cfg);
    const specs = parameterSpecs(c);
    const ck = initialCheckpoint(c, specs);
    const n = model === 0 ? 4 : 2;
    const image = randn(seeded(20 + model), n * 3 * size * size);
    const feeds = (img: Float32Array): Record<string, ort.Tensor> => {
      const f: Record<string, ort.Tensor> = {
        [N.IMAGE]: new ort.Tensor('float32', img, [n, 3, size, size]),
        [N.MASK]: new ort.Tensor('float32', new Float32Array(n * size * size).map((_, i) => ((i >> 3) % 3 === 0 ? 1 : 0)), [n, 1, size, size]),
      };
      for (const p of specs.filter((q) => q.graphInput)) f[p.name] = new ort.Tensor('float32', ck.params[p.name].data as Float32Array, p.shape);
      return f;
    };
    const trainable = specs.filter((q) => q.trainable);
    const grads = (r: ort.InferenceSession.OnnxValueMapType) => Float64Array.from(trainable.flatMap((p) => Array.from(r[N.gradName(p.name)].data as Float32Array)));
    const ref = await runTraining(c, PLAIN, feeds(image));
    const refGrads = grads(ref);

    // the plain graph's own rounding sensitivity: the image moved by +-1 ulp, two ways
    let sensitivity = 0;
    for (const k of [1, 2]) {
      const moved = image.map((x, i) => x * (1 + (((i * k) % 3) - 1) * 2 ** -23));
      sensitivity = Math.max(sensitivity, relErr(grads(await runTraining(c, PLAIN, feeds(moved))), refGrads));
    }
    // the regime must resolve a wrong pass (an O(1) error) with room to spare
    expect(sensitivity).toBeLessThan(model === 0 ? 5e-2 : 1e-4);
    const tol = Math.max(4 * sensitivity, 1e-5);

    const targets: [string, ResolvedConfig, Target][] = [
      ['cpu', c, { device: 'cpu', nchwcBlock: block }],
      ['cuda', c, { device: 'cuda' }],
      ['webgpu', c, { device: 'webgpu' }],
    ];
    if (block) targets.push([`cpu nchwc${block}`, resolveConfig({ ...cfg, nchwc: true }), { device: 'cpu', nchwcBlock: block }]);
    const seen = new Set<string>();
    for (const [label, cc, t] of targets) {
      const key = JSON.stringify(names(pipeline(cc, t)));
      if (seen.has(key)) continue;
      seen.add(key);
      const out = await runTraining(cc, t, feeds(image));
      expect([label, out[N.LOSS].data[0]]).toEqual([label, expect.closeTo(ref[N.LOSS].data[0] as number, 5)]);
      const err = relErr(grads(out), refGrads);
      expect([label, 'gradients', err <= tol ? 'ok' : `${err.toExponential(2)} > ${tol.toExponential(2)}`]).toEqual([label, 'gradients', 'ok']);
      for (const p of specs.filter((q) => q.name.endsWith('.running_var'))) {
        const e = relErr(out[N.nextName(p.name)].data as Float32Array, ref[N.nextName(p.name)].data as Float32Array);
        expect([label, p.name, e < 1e-5 ? 'ok' : e]).toEqual([label, p.name, 'ok']);
      }
    }
  });
});
