/**
 * melseg's training graphs against the study's framework: PyTorch (Debian's python3-torch, float64)
 * runs the same networks (scripts/torch_models.py) from the same checkpoint on the same batch; loss,
 * every gradient and the updated BN running statistics must agree.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { initialCheckpoint, parameterSpecs, resolveConfig, trainingGraph } from '../src/graphs';
import * as N from '../src/onnx/names';
import { serialize } from '../src/onnx/proto';
import { saveCheckpointSync } from '../src/train/checkpoint';
import { relErr } from './helpers/compare';
import { randn, seeded } from './helpers/random';

const PY = '/usr/bin/python3';
const hasTorch = spawnSync(PY, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
if (!hasTorch) console.warn('reference tests skipped: /usr/bin/python3 has no torch (apt-get install python3-torch)');

const S = 32;
const W = 1 / 16;

/** relErr's floor: absorbs float32 noise on gradients that are exactly zero in theory (conv biases followed by BatchNorm). */
const FLOOR = 1e-12;

(hasTorch ? describe : describe.skip)('training graphs match PyTorch', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-ref-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test.each([
    [0, 0], [1, 1], [2, 2], [3, 3], [3, 9], [1, 5], [0, 14],
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
    expect(r[N.LOSS].data[0] as number).toBeCloseTo(ref.loss, 4);
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
});
