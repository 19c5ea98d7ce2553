/**
 * melseg against the study's own code: PyTorch (Debian's python3-torch, float64) runs the study's losses,
 * copied verbatim into scripts/torch_models.py, and the study's networks. Every loss of the table
 * (value and gradient with respect to the logits) must agree on one batch, and whole training graphs
 * (same checkpoint, same batch) must agree in loss, every gradient and the updated BN statistics.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { gradients } from '../src/autodiff';
import { inferenceGraph, initialCheckpoint, parameterSpecs, resolveConfig, trainingGraph } from '../src/graphs';
import { LOSSES } from '../src/losses';
import { Graph } from '../src/onnx/graph';
import * as N from '../src/onnx/names';
import { serialize } from '../src/onnx/proto';
import { sessionFor } from '../src/onnx/session';
import { saveCheckpointSync } from '../src/checkpoint/checkpoint';
import { relErr } from './helpers/compare';
import { randn, seeded } from './helpers/random';
import { oracleDescribe, PY } from './helpers/oracle';


const S = 32;
const W = 1 / 16;

/** relErr's floor: absorbs float32 noise on gradients that are exactly zero in theory (conv biases followed by BatchNorm). */
const FLOOR = 1e-12;

oracleDescribe('torch')('every loss matches the study\'s code in PyTorch', () => {
  // Two 16 x 16 images: a small lesion and a large one (so a per-image mean differs from a batch
  // mean), logits of scale 4 (probabilities from about 1e-5 to 1 - 1e-5, both tails of every log).
  const n = 2;
  const s = 16;
  const logits = randn(seeded(41), n * s * s, 4);
  const mask = new Float32Array(n * s * s).map((_, i) => {
    const [b, r, c] = [Math.floor(i / (s * s)), Math.floor(i / s) % s, i % s];
    return (r - 7) ** 2 + (c - 8) ** 2 < (b === 0 ? 6 : 40) ? 1 : 0;
  });
  let ref: Record<string, { loss: number; grad: number[] }>;

  beforeAll(() => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-ref-losses-'));
    try {
      const inFile = path.join(dir, 'in.bin');
      fs.writeFileSync(inFile, Buffer.concat([Buffer.from(logits.buffer), Buffer.from(mask.buffer)]));
      fs.writeFileSync(`${inFile}.json`, JSON.stringify({ n, s, losses: LOSSES.map((l) => l.id) }));
      const outFile = path.join(dir, 'out.json');
      execFileSync(PY, [path.join(__dirname, '..', 'scripts', 'torch_models.py'), 'losses', inFile, outFile]);
      ref = JSON.parse(fs.readFileSync(outFile, 'utf8'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each(LOSSES.map((l) => [l.id, l.name]))('loss %i %s: value and gradient', async (id) => {
    // the training graph's head: probabilities are the Sigmoid of the logits; the loss takes both
    const g = new Graph('loss');
    const x = g.input('logits', [n, 1, s, s]);
    const y = g.input('mask', [n, 1, s, s]);
    const loss = LOSSES[id].build({ g, logits: x, prob: g.op1('Sigmoid', [x]), mask: y });
    const dx = gradients(g, loss, [x]).get(x.name)!;
    g.output(loss, 'loss');
    g.output(dx, 'dlogits');
    const session = await sessionFor(g);
    const r = await session.run({ logits: new ort.Tensor('float32', logits, [n, 1, s, s]), mask: new ort.Tensor('float32', mask, [n, 1, s, s]) });
    const want = ref[String(id)];
    const value = r.loss.data[0] as number;
    if (process.env.DEBUG_REF) console.log(`loss ${id}: melseg ${value} PyTorch ${want.loss} (${((value - want.loss) / want.loss).toExponential(1)}), gradient ${relErr(r.dlogits.data as Float32Array, want.grad).toExponential(1)}`);
    // float32 against float64 over 512 pixels: about 1e-7 relative; a wrong term is off by far more
    expect(Math.abs(value - want.loss)).toBeLessThan(1e-5 * Math.max(Math.abs(want.loss), 1e-3));
    expect(relErr(r.dlogits.data as Float32Array, want.grad)).toBeLessThan(1e-5);
  });
});

oracleDescribe('torch')('training graphs match PyTorch', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-ref-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test.each([
    [0, 0], [1, 1], [2, 2], [3, 3], [3, 9], [1, 5], [0, 14], [2, 15],
  ])('model %i x loss %i: loss, gradients and running statistics', async (model, loss) => {
    const c = resolveConfig({ model, loss, imageSize: S, width: W, seed: 1 });
    const specs = parameterSpecs(c);
    const ck = initialCheckpoint(c, specs);
    const ckFile = path.join(dir, `m${model}l${loss}.ckpt`);
    saveCheckpointSync(ckFile, ck);
    const n = 2;
    const rand = seeded(100 + model);
    const image = randn(rand, n * 3 * S * S);
    const mask = new Float32Array(n * S * S).map((_, i) => ((i % S) - 14) ** 2 + (Math.floor(i / S) % S - 15) ** 2 < 70 ? 1 : 0);
    const inFile = path.join(dir, `in${model}${loss}.bin`);
    fs.writeFileSync(inFile, Buffer.concat([Buffer.from(image.buffer), Buffer.from(mask.buffer)]));
    fs.writeFileSync(`${inFile}.json`, JSON.stringify({ n }));
    const outFile = path.join(dir, `out${model}${loss}.json`);
    execFileSync(PY, [path.join(__dirname, '..', 'scripts', 'torch_models.py'), 'reference', ckFile, inFile, outFile]);
    const ref = JSON.parse(fs.readFileSync(outFile, 'utf8'));

    const session = await ort.InferenceSession.create(serialize(trainingGraph(c)));
    const feeds: Record<string, ort.Tensor> = {
      [N.IMAGE]: new ort.Tensor('float32', image, [n, 3, S, S]),
      [N.MASK]: new ort.Tensor('float32', mask, [n, 1, S, S]),
    };
    for (const p of specs.filter((q) => q.graphInput)) feeds[p.name] = new ort.Tensor('float32', ck.params[p.name].data as Float32Array, p.shape);
    const r = await session.run(feeds);
    const value = r[N.LOSS].data[0] as number;
    if (process.env.DEBUG_REF) console.log(`model ${model} loss ${loss}: melseg ${value} PyTorch ${ref.loss}`);
    // float32 through a whole network: a few 1e-6 relative (SegNet the most); the old focal was off by 66%
    expect(Math.abs(value - ref.loss)).toBeLessThan(2e-5 * Math.max(Math.abs(ref.loss), 1));
    // Conv biases followed by BatchNorm have a gradient of exactly zero in theory (PyTorch's float64
    // gives ~1e-17): there, float32 noise must stay below 1e-5 of the largest gradient norm.
    const trainable = specs.filter((q) => q.trainable);
    const norm = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((t, x) => t + x * x, 0));
    const maxNorm = Math.max(...trainable.map((p) => norm(ref.grads[p.name])));
    const worst: [string, number][] = [];
    for (const p of trainable) {
      const ours = r[N.gradName(p.name)].data as Float32Array;
      if (norm(ref.grads[p.name]) < 1e-9 * maxNorm) expect(norm(ours)).toBeLessThan(1e-5 * maxNorm);
      else worst.push([p.name, relErr(ours, ref.grads[p.name], FLOOR)]);
    }
    worst.sort((a, b) => b[1] - a[1]);
    if (process.env.DEBUG_REF) console.log(`model ${model} loss ${loss}: worst gradient error ${worst[0][0]} ${worst[0][1].toExponential(2)}`);
    expect(worst[0][1]).toBeLessThan(1e-3);
    for (const [name, values] of Object.entries(ref.buffers as Record<string, number[]>)) {
      expect(relErr(r[N.nextName(name)].data as Float32Array, values, FLOOR)).toBeLessThan(1e-4);
    }
  });

  // EGE-UNet at the paper's width 1 (other widths round its channels): depthwise
  // and grouped convolutions, Conv1d weights, GroupNorm, channel LayerNorm, exact GELU, bilinear
  // resizes of activations and of learnable maps, all against PyTorch's own modules. No BatchNorm, so
  // the inference graph's forward is the training forward.
  test('model 4 (EGE-UNet, width 1) x loss 15: probabilities, loss and every gradient to 1e-5', async () => {
    const c = resolveConfig({ model: 4, loss: 15, imageSize: S, width: 1, seed: 1 });
    const specs = parameterSpecs(c);
    const ck = initialCheckpoint(c, specs);
    // break the symmetry of the ones/zeros the norms and GHPA's maps start from, so that each of their
    // gradients depends on every factor of its rule
    const jitter = seeded(7);
    for (const p of specs) {
      const d = ck.params[p.name].data as Float32Array;
      if (p.name.endsWith('params_xy') || p.name.endsWith('params_zx') || p.name.endsWith('params_zy') || /(norm\d|bn\d|\.g\d\.0|tail_conv\.0)\.(weight|bias)$/.test(p.name)) {
        for (let i = 0; i < d.length; i++) d[i] += 0.5 * (jitter() - 0.5);
      }
    }
    const ckFile = path.join(dir, 'm4l15.ckpt');
    saveCheckpointSync(ckFile, ck);
    const n = 2;
    const image = randn(seeded(104), n * 3 * S * S);
    const mask = new Float32Array(n * S * S).map((_, i) => ((i % S) - 14) ** 2 + (Math.floor(i / S) % S - 15) ** 2 < 70 ? 1 : 0);
    const inFile = path.join(dir, 'in4.bin');
    fs.writeFileSync(inFile, Buffer.concat([Buffer.from(image.buffer), Buffer.from(mask.buffer)]));
    fs.writeFileSync(`${inFile}.json`, JSON.stringify({ n }));
    const outFile = path.join(dir, 'out4.json');
    execFileSync(PY, [path.join(__dirname, '..', 'scripts', 'torch_models.py'), 'reference', ckFile, inFile, outFile]);
    const ref = JSON.parse(fs.readFileSync(outFile, 'utf8'));

    const params: Record<string, ort.Tensor> = {};
    for (const p of specs) params[p.name] = new ort.Tensor('float32', ck.params[p.name].data as Float32Array, p.shape);
    const img = new ort.Tensor('float32', image, [n, 3, S, S]);
    const inf = await ort.InferenceSession.create(serialize(inferenceGraph(c)));
    const prob = (await inf.run({ [N.IMAGE]: img, ...params }))[N.PROBABILITY].data as Float32Array;
    const train = await ort.InferenceSession.create(serialize(trainingGraph(c)));
    const r = await train.run({ [N.IMAGE]: img, [N.MASK]: new ort.Tensor('float32', mask, [n, 1, S, S]), ...params });
    const value = r[N.LOSS].data[0] as number;
    const errs = specs.map((p): [string, number] => [p.name, relErr(r[N.gradName(p.name)].data as Float32Array, ref.grads[p.name], FLOOR)]);
    errs.sort((a, b) => b[1] - a[1]);
    if (process.env.DEBUG_REF) console.log(`EGE-UNet: probability ${relErr(prob, ref.probability).toExponential(2)}, loss ${value} vs ${ref.loss}, worst gradient ${errs[0][0]} ${errs[0][1].toExponential(2)}`);
    expect(relErr(prob, ref.probability)).toBeLessThan(1e-5);
    expect(Math.abs(value - ref.loss)).toBeLessThan(1e-5 * Math.abs(ref.loss));
    expect(errs[0][1]).toBeLessThan(1e-5);
  });
});
