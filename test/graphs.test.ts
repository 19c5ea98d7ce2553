import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import * as ort from 'onnxruntime-node';
import { ensureGraphs, initialCheckpoint, parameterSpecs, pipeline, resolveConfig, targetFor, trainingGraph, writeGraphs } from '../src/graphs';
import { LOSSES } from '../src/losses';
import { MODELS, forward } from '../src/models';
import type { ParamSpec } from '../src/models/builder';
import { Graph } from '../src/onnx/graph';
import * as N from '../src/onnx/names';
import { serialize } from '../src/onnx/proto';
import { loadCheckpoint } from '../src/checkpoint/checkpoint';
import { relErr } from './helpers/compare';
import { evalFloat64, freezeKinks, tensorwiseCheck } from './helpers/gradcheck';
import { graphCacheDir } from '../src/util/paths';
import { randn, seeded } from './helpers/random';
import { oracleTest, PY } from './helpers/oracle';


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

  oracleTest('onnx')('every file passes the official ONNX checker with full shape inference', async () => {
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
 * The whole training graph against finite differences, one parameter tensor at a time, each along its
 * own seeded random direction (test/helpers/gradcheck.ts, tensorwiseCheck): an error confined to one
 * small tensor shows in that tensor's own comparison. The differences are taken of the same network
 * with its ReLU and max-pool kinks frozen at the point (freezeKinks), the loss evaluated in float64
 * (evalFloat64) from the float32 logits.
 */
interface WholeGraph {
  model: number;
  trainable: ParamSpec[];
  params: Record<string, Float32Array>;
  grads: Record<string, Float32Array>;
  /** the training graph's own float32 loss with some tensors replaced (the old check's function) */
  graphLoss: (over: Record<string, Float32Array>) => Promise<number>;
  /** the frozen network's loss, in float64, with one tensor replaced */
  loss: (name: string, data: Float32Array) => Promise<number>;
  logits: { graph: Float32Array; frozen: Float32Array };
  release: () => Promise<void>;
}

async function wholeGraph(model: number, loss: number, edit?: (g: Graph) => void): Promise<WholeGraph> {
  // SegNet pools five times: at 32 px its last encoder BatchNorm sees N*1*1 = 2 values, where the
  // loss is wildly curved (a variance near 0 scales gradients by 1/sqrt(eps)); 64 px and 4 images
  // give it 16.
  const size = model === 0 ? 64 : S;
  const c = resolveConfig({ model, loss, imageSize: size, width: W, seed: 3 });
  const specs = parameterSpecs(c).filter((p) => p.graphInput);
  const ck = initialCheckpoint(c, specs);
  const params = Object.fromEntries(specs.map((p) => [p.name, ck.params[p.name].data as Float32Array]));
  const b = batch(model === 0 ? 4 : 2, 5, size);
  const feeds = (over: Record<string, Float32Array> = {}) => {
    const f: Record<string, ort.Tensor> = { ...b };
    for (const p of specs) f[p.name] = new ort.Tensor('float32', over[p.name] ?? params[p.name], p.shape);
    return f;
  };
  const g = trainingGraph(c);
  edit?.(g);
  const train = await ort.InferenceSession.create(serialize(g));
  const r0 = await train.run(feeds());
  const trainable = specs.filter((p) => p.trainable);
  const network = () => {
    const n = new Graph('network');
    n.output(forward(n, c.model, 'train', size, c.width).logits, 'logits');
    n.lower();
    n.prune();
    return n;
  };
  const run = async (s: ort.InferenceSession, over: Record<string, Float32Array> = {}) => {
    const f = feeds(over);
    return (await s.run(Object.fromEntries(s.inputNames.map((k) => [k, f[k]])))).logits.data as Float32Array;
  };
  const plain = await ort.InferenceSession.create(serialize(network()));
  const frozen = await ort.InferenceSession.create(serialize(await freezeKinks(network, feeds())));
  // the loss as the training graph's head applies it: probabilities are Sigmoid(logits)
  const shape = b.mask.dims as number[];
  const lg = new Graph('loss');
  const x = lg.input('logits', shape);
  const y = lg.input('mask', shape);
  lg.output(c.loss.build({ g: lg, logits: x, prob: lg.op1('Sigmoid', [x]), mask: y }), 'loss');
  const mask = { shape, data: Float64Array.from(b.mask.data as Float32Array) };
  return {
    model,
    trainable,
    params,
    grads: Object.fromEntries(trainable.map((p) => [p.name, r0[N.gradName(p.name)].data as Float32Array])),
    graphLoss: async (over) => (await train.run(feeds(over), [N.LOSS]))[N.LOSS].data[0] as number,
    loss: async (name, data) => evalFloat64(lg, { logits: { shape, data: Float64Array.from(await run(frozen, { [name]: data })) }, mask }, 'loss').data[0],
    logits: { graph: await run(plain), frozen: await run(frozen) },
    release: async () => {
      for (const s of [train, plain, frozen]) await s.release();
    },
  };
}

/**
 * A bias the next layer subtracts again: conv1.0 is followed by a training-mode BatchNorm in every
 * study model; EGE-UNet's encoder1.0 by GroupNorm(4) over its 4 channels at width 1/16 (one channel
 * per group, so each channel's bias is removed with that channel's mean).
 */
const invariantOf = (params: Record<string, Float32Array>) => ('conv1.0.bias' in params ? 'conv1.0.bias' : 'encoder1.0.bias');

async function check(w: WholeGraph, names: string[], seed: number) {
  return tensorwiseCheck({
    // SegNet at initialisation is far more curved than the UNets (26 BatchNorms in a row, some over 16
    // values): its differences need 10x smaller steps, at the price of a coarser resolution.
    step: w.model === 0 ? 3e-4 : 3e-3,
    tensors: names.map((name) => ({ name, data: w.params[name] })),
    grads: w.grads,
    loss: w.loss,
    invariant: { name: invariantOf(w.params), data: w.params[invariantOf(w.params)] },
    seed,
  });
}

/** The tensors that fail; their numbers are printed (always with DEBUG_FD=1). */
function report(label: string, r: Awaited<ReturnType<typeof check>>, failureExpected = false) {
  const bad = r.tensors.filter((t) => !t.ok);
  if (process.env.DEBUG_FD || (bad.length && !failureExpected)) {
    const worst = [...r.tensors].sort((a, b) => Math.abs(b.analytic - b.numeric) / b.allowed - Math.abs(a.analytic - a.numeric) / a.allowed);
    console.log(`${label}: noise ${r.noise.toExponential(1)}; worst |analytic - numeric| / allowed:\n` + worst.slice(0, 5).map((t) => `  ${t.name} (${t.size}): analytic ${t.analytic.toExponential(6)} numeric ${t.numeric.toExponential(6)} ratio ${(Math.abs(t.analytic - t.numeric) / t.allowed).toFixed(2)}`).join('\n'));
  }
  return bad.map((t) => t.name);
}

describe('whole training graphs pass a finite-difference check, tensor by tensor', () => {
  // Every tensor of every model, each with a different loss; the loss's own gradient is checked
  // alone (test/losses) and against PyTorch (test/reference.test.ts).
  const FULL: [number, number][] = [[0, 1], [1, 3], [2, 9], [3, 15]];
  test.each(FULL.map(([m, l]) => [MODELS[m].name, LOSSES[l].name, m, l] as const))('%s x %s: every parameter tensor', async (_m, _l, model, loss) => {
    const w = await wholeGraph(model, loss);
    // freezing the kinks keeps the function at the point
    expect(relErr(w.logits.frozen, w.logits.graph)).toBeLessThan(1e-6);
    const r = await check(w, w.trainable.map((p) => p.name), 11 + model * 100 + loss);
    await w.release();
    expect(report(`${MODELS[model].name} x ${LOSSES[loss].name}`, r)).toEqual([]);
  });

  // Every model x loss: the first convolution's weight (its gradient crosses the whole backward pass)
  // and the last two tensors (where the loss's gradient enters).
  const cases = MODELS.flatMap((m) => LOSSES.map((l) => [m.name, l.name, m.id, l.id] as const)).filter(([, , m, l]) => !FULL.some(([a, b]) => a === m && b === l));
  test.each(cases)('%s x %s: the first and the last tensors', async (_m, _l, model, loss) => {
    const w = await wholeGraph(model, loss);
    const names = [w.trainable[0].name, ...w.trainable.slice(-2).map((p) => p.name)];
    const r = await check(w, names, 11 + model * 100 + loss);
    await w.release();
    expect(report(`${MODELS[model].name} x ${LOSSES[loss].name}`, r)).toEqual([]);
  });
});

/** Multiplies the graph output `name` by `factor`: a gradient rule that is wrong by that much. */
function scaleOutput(g: Graph, name: string, factor: number) {
  g.rewrite((n) => {
    const k = n.outputs.indexOf(name);
    if (k < 0) return undefined;
    const outs = g.op(n.op, n.inputs.map((x) => (x ? g.value(x) : null)), n.attrs);
    outs[k] = g.op1('Mul', [outs[k], g.f32(factor)]);
    return outs;
  });
}

describe('the tensor-by-tensor check catches a 1% error in one small tensor', () => {
  // conv2.1.bias: the 8 biases of the second encoder block's first BatchNorm in UNet
  const [model, loss, name] = [1, 1, 'conv2.1.bias'];

  test('the clean graph passes, the graph with that gradient scaled by 1.01 fails on that tensor', async () => {
    const w = await wholeGraph(model, loss);
    const clean = await check(w, [name], 5);
    await w.release();
    expect(report('clean', clean)).toEqual([]);
    const wrong = await wholeGraph(model, loss, (g) => scaleOutput(g, N.gradName(name), 1.01));
    const bad = await check(wrong, [name], 5);
    await wrong.release();
    expect(report('scaled by 1.01', bad, true)).toEqual([name]);
    // the error is resolved many times over: 1% against a tolerance of a fraction of that
    expect(Math.abs(bad.tensors[0].analytic - bad.tensors[0].numeric)).toBeGreaterThan(2 * bad.tensors[0].allowed);
  });

  test('the check this file ran before (one direction along the whole gradient) passes the same error', async () => {
    const w = await wholeGraph(model, loss, (g) => scaleOutput(g, N.gradName(name), 1.01));
    const rand = seeded(11 + model * 100 + loss);
    let gn = 0;
    for (const p of w.trainable) for (const x of w.grads[p.name]) gn += x * x;
    gn = Math.sqrt(gn);
    const dir = Object.fromEntries(w.trainable.map((p) => {
      const gr = w.grads[p.name];
      const noise = randn(rand, gr.length, 0.3 / Math.sqrt(gr.length * w.trainable.length));
      return [p.name, gr.map((x, i) => x / gn + noise[i])];
    }));
    let analytic = 0;
    for (const p of w.trainable) for (let i = 0; i < dir[p.name].length; i++) analytic += w.grads[p.name][i] * dir[p.name][i];
    const l0 = Math.abs(await w.graphLoss({}));
    const eps = (2e-4 * Math.max(l0, 1e-2)) / Math.max(Math.abs(analytic), 1e-3);
    const moved = (e: number) => Object.fromEntries(w.trainable.map((p) => [p.name, w.params[p.name].map((x, i) => x + e * dir[p.name][i])]));
    const numeric = ((await w.graphLoss(moved(eps))) - (await w.graphLoss(moved(-eps)))) / (2 * eps);
    await w.release();
    const rel = Math.abs(analytic - numeric) / Math.max(Math.abs(analytic), Math.abs(numeric), 1e-3);
    if (process.env.DEBUG_FD) console.log(`old check with ${name} scaled by 1.01: analytic ${analytic} numeric ${numeric} relative error ${rel.toExponential(2)}`);
    expect(rel).toBeLessThan(3e-2); // its tolerance for UNet
  });
});

describe('evalFloat64, the check\'s float64 loss, agrees with onnxruntime', () => {
  test.each(LOSSES.map((l) => [l.id, l.name]))('loss %i %s', async (id) => {
    const shape = [2, 1, 6, 6];
    const z = randn(seeded(id), 72, 3);
    const m = new Float32Array(72).map((_, i) => (i % 5 < 2 ? 1 : 0));
    const g = new Graph('loss');
    const x = g.input('logits', shape);
    const y = g.input('mask', shape);
    g.output(LOSSES[id].build({ g, logits: x, prob: g.op1('Sigmoid', [x]), mask: y }), 'loss');
    const ours = evalFloat64(g, { logits: { shape, data: Float64Array.from(z) }, mask: { shape, data: Float64Array.from(m) } }, 'loss').data[0];
    const session = await ort.InferenceSession.create(serialize(g));
    const r = await session.run({ logits: new ort.Tensor('float32', z, shape), mask: new ort.Tensor('float32', m, shape) });
    expect(Math.abs(ours - (r.loss.data[0] as number))).toBeLessThan(1e-5 * Math.max(Math.abs(ours), 1));
  });
});
