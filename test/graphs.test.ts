import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import * as ort from 'onnxruntime-node';
import { ensureGraphs, initialCheckpoint, parameterSpecs, pipeline, resolveConfig, targetFor, trainingGraph, writeGraphs } from '../src/graphs';
import { LOSSES } from '../src/losses';
import { MODELS } from '../src/models';
import * as N from '../src/onnx/names';
import { serialize } from '../src/onnx/proto';
import { graphCacheDir } from '../src/util/paths';
import { randn, seeded } from './helpers/random';

const PY = '/usr/bin/python3';
const hasOnnx = (() => {
  try {
    execFileSync(PY, ['-c', 'import onnx'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const S = 32;
const W = 1 / 16;

function batch(n: number, seed: number, S = 32) {
  const rand = seeded(seed);
  const image = randn(rand, n * 3 * S * S);
  const mask = new Float32Array(n * S * S);
  // a disc per image, so every loss sees both classes
  for (let b = 0; b < n; b++) for (let i = 0; i < S; i++) for (let j = 0; j < S; j++) {
    mask[b * S * S + i * S + j] = (i - S / 2.5 - b) ** 2 + (j - S / 2) ** 2 < S * 2 ? 1 : 0;
  }
  return { image: new ort.Tensor('float32', image, [n, 3, S, S]), mask: new ort.Tensor('float32', mask, [n, 1, S, S]) };
}

describe('the graph files (melseg build-graph)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-graphs-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test.each(MODELS.map((m) => [m.name, m.id]))('%s: every graph loads in onnxruntime and runs on a batch', async (_name, model) => {
    const out = path.join(dir, `m${model}`);
    const c = resolveConfig({ model, loss: 9, imageSize: S, width: W });
    const report = await writeGraphs(c, out);
    const m = report.manifest;
    expect(Object.keys(m.graphs).sort()).toEqual(['eval', 'inference', 'optimizer', 'trainStep', 'training']);
    expect(m.pipeline.target).toBe('portable');
    expect(fs.readdirSync(out).sort()).toEqual(['eval_model.onnx', 'inference_model.onnx', 'manifest.json', 'optimizer_model.onnx', 'train_step_model.onnx', 'training_model.onnx']);
    const ck = initialCheckpoint(c, parameterSpecs(c));
    const feedsFor = (inputs: string[], extra: Record<string, ort.Tensor>) => {
      const f: Record<string, ort.Tensor> = { ...extra };
      for (const name of inputs) {
        if (f[name]) continue;
        const p = ck.params[name];
        if (p && p.data instanceof Float32Array) f[name] = new ort.Tensor('float32', p.data, p.shape);
      }
      return f;
    };
    const b = batch(2, 1);
    const train = await ort.InferenceSession.create(path.join(out, m.graphs.training.file));
    const r = await train.run(feedsFor(m.graphs.training.inputs, b));
    expect(Number.isFinite(r[N.LOSS].data[0] as number)).toBe(true);
    for (const p of m.parameters.filter((q) => q.trainable)) expect(r[N.gradName(p.name)].dims).toEqual(p.shape);
    const ev = await ort.InferenceSession.create(path.join(out, m.graphs.eval.file));
    const e = await ev.run(feedsFor(m.graphs.eval.inputs, b));
    expect(e[N.INTERSECTION].dims).toEqual([2]);
    const inf = await ort.InferenceSession.create(path.join(out, m.graphs.inference.file));
    const p = await inf.run(feedsFor(m.graphs.inference.inputs, { image: b.image }));
    expect(p[N.PROBABILITY].dims).toEqual([2, 1, S, S]);
  });

  (hasOnnx ? test : test.skip)('every file passes the official ONNX checker with full shape inference', async () => {
    const out = path.join(dir, 'checked');
    await writeGraphs(resolveConfig({ model: 3, loss: 0, imageSize: S, width: W }), out, { valueInfo: true });
    const script = [
      'import onnx, sys, glob',
      'for f in sorted(glob.glob(sys.argv[1] + "/*.onnx")):',
      '    m = onnx.load(f)',
      '    onnx.checker.check_model(m, full_check=True)',
      '    onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True)',
      '    print("ok", f)',
    ].join('\n');
    const log = execFileSync(PY, ['-c', script, out]).toString();
    expect(log.match(/^ok /gm)).toHaveLength(5);
  });
});

describe('the graph cache', () => {
  const c = resolveConfig({ model: 1, loss: 2, imageSize: S, width: W });
  const files = (d: string) => fs.readdirSync(d).sort();

  test('builds only the graphs asked for, adds the others when asked, and reuses what it has', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-cache-'));
    const a = await ensureGraphs(c, { root, kinds: ['inference'] });
    expect([a.built, files(a.dir)]).toEqual([true, ['inference_model.onnx', 'manifest.json']]);
    expect(Object.keys(a.manifest.graphs)).toEqual(['inference']);
    const b = await ensureGraphs(c, { root, kinds: ['trainStep', 'eval'] });
    expect([b.dir, b.built, files(b.dir)]).toEqual([a.dir, true, ['eval_model.onnx', 'inference_model.onnx', 'manifest.json', 'train_step_model.onnx']]);
    const again = await ensureGraphs(c, { root, kinds: ['inference', 'eval'] });
    expect([again.built, Object.keys(again.manifest.graphs).sort()]).toEqual([false, ['eval', 'inference']]);
    const onDisk = JSON.parse(fs.readFileSync(path.join(a.dir, 'manifest.json'), 'utf8'));
    expect(Object.keys(onDisk.graphs).sort()).toEqual(['eval', 'inference', 'trainStep']);
  });

  test('keys each folder by the device\'s pipeline and the compiler, and rebuilds when either differs', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-cache-'));
    const cpu = await ensureGraphs(c, { root, kinds: ['eval'] });
    const cuda = await ensureGraphs(c, { root, device: 'cuda', kinds: ['eval'] });
    // this CPU's tag: 'cpu', or 'cpu-nchwc<B>' where the pipeline's rule picks the NCHWc kernels
    const cpuTag = pipeline(c, await targetFor('cpu')).tag;
    expect(cpuTag).toMatch(/^cpu(-nchwc(8|16))?$/);
    expect([path.basename(cpu.dir), path.basename(cuda.dir)]).toEqual([`UNet_dice_loss_s32_w0.0625_${cpuTag}`, 'UNet_dice_loss_s32_w0.0625_cuda']);
    expect(cuda.manifest.pipeline.devicePasses).toContain('maxpool-grad-by-comparison');
    const mf = path.join(cpu.dir, 'manifest.json');
    fs.writeFileSync(mf, JSON.stringify({ ...JSON.parse(fs.readFileSync(mf, 'utf8')), compiler: 'an older melseg' }));
    expect((await ensureGraphs(c, { root, kinds: ['eval'] })).built).toBe(true);
    expect(JSON.parse(fs.readFileSync(mf, 'utf8')).compiler).toBe(cpu.manifest.compiler);
  });

  test('lives in the user cache folder unless told otherwise', async () => {
    const r = await ensureGraphs(resolveConfig({ model: 3, loss: 9, imageSize: S, width: W }), { kinds: ['inference'] });
    expect(path.dirname(r.dir)).toBe(graphCacheDir());
    expect(graphCacheDir().startsWith(path.resolve(process.env.MELSEG_CACHE_DIR ?? '/nonexistent'))).toBe(true);
  });
});

/**
 * The whole training graph, per model x loss: d loss / d params along a random direction, analytic
 * (the graph's gradient outputs) against a central difference of the graph's own loss.
 */
describe('whole training graphs pass a finite-difference gradient check', () => {
  const cases = MODELS.flatMap((m) => LOSSES.map((l) => [m.name, l.name, m.id, l.id] as const));
  test.each(cases)('%s x %s', async (_m, _l, model, loss) => {
    // SegNet pools five times: at 32 px its last encoder BatchNorm sees N*1*1 = 2 values, where the
    // loss is wildly curved (a variance near 0 scales gradients by 1/sqrt(eps)); 64 px and 4 images
    // give it 16.
    const size = model === 0 ? 64 : S;
    const c = resolveConfig({ model, loss, imageSize: size, width: W, seed: 3 });
    const g = trainingGraph(c);
    const session = await ort.InferenceSession.create(serialize(g));
    const params = parameterSpecs(c).filter((p) => p.graphInput);
    const ck = initialCheckpoint(c, params);
    const b = batch(model === 0 ? 4 : 2, 5, size);
    const rand = seeded(11 + model * 100 + loss);
    const trainable = params.filter((p) => p.trainable);
    const r0 = await session.run(feedsWith(() => undefined));
    // Direction: the analytic gradient itself, normalised, plus a random part. The networks are
    // piecewise smooth (ReLU, max-pool), so a direction with a large directional derivative keeps the
    // kinks crossed within +-eps small next to the signal.
    let gn = 0;
    for (const p of trainable) for (const x of r0[N.gradName(p.name)].data as Float32Array) gn += x * x;
    gn = Math.sqrt(gn);
    const dir = Object.fromEntries(trainable.map((p) => {
      const gr = r0[N.gradName(p.name)].data as Float32Array;
      const noise = randn(rand, gr.length, 0.3 / Math.sqrt(gr.length * trainable.length));
      return [p.name, gr.map((x, i) => x / gn + noise[i])];
    }));
    function feedsWith(delta: (name: string) => Float32Array | undefined, eps = 0) {
      const f: Record<string, ort.Tensor> = { ...b };
      for (const p of params) {
        const base = ck.params[p.name].data as Float32Array;
        const d = delta(p.name);
        f[p.name] = new ort.Tensor('float32', d ? base.map((x, i) => x + eps * d[i]) : base, p.shape);
      }
      return f;
    }
    const feeds = (eps: number) => feedsWith((name) => dir[name], eps);
    const r = r0;
    let analytic = 0;
    for (const p of trainable) {
      const gr = r[N.gradName(p.name)].data as Float32Array;
      const d = dir[p.name];
      for (let i = 0; i < d.length; i++) analytic += gr[i] * d[i];
    }
    // Step so that the loss moves by about 2e-4 (x its scale): far above float32 rounding, small
    // enough that few ReLU/max-pool kinks are crossed.
    const l0 = Math.abs(r0[N.LOSS].data[0] as number);
    const eps = (2e-4 * Math.max(l0, 1e-2)) / Math.max(Math.abs(analytic), 1e-3);
    const lp = (await session.run(feeds(eps), [N.LOSS]))[N.LOSS].data[0] as number;
    const lm = (await session.run(feeds(-eps), [N.LOSS]))[N.LOSS].data[0] as number;
    const numeric = (lp - lm) / (2 * eps);
    const rel = Math.abs(analytic - numeric) / Math.max(Math.abs(analytic), Math.abs(numeric), 1e-3);
    if (process.env.DEBUG_FD) console.log('FD', model, loss, analytic, numeric, rel);
    // float32 differences across a piecewise-smooth network are good to a few percent; a wrong rule
    // is off by O(1). SegNet (sigmoid of a 1-channel BN + ReLU) is the most curved. Exact agreement
    // (1e-5) is checked against PyTorch in reference.test.ts.
    expect(rel).toBeLessThan(model === 0 ? 6e-2 : 3e-2);
  });
});
