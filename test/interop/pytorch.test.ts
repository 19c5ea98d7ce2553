/**
 * PyTorch interop both ways, end to end, against Debian's python3-torch: weights PyTorch initialised
 * and saved become melseg checkpoints (melseg import) whose inference graph gives PyTorch's
 * probabilities, and melseg's checkpoints (imported, or trained by melseg) load strictly into the
 * study's PyTorch networks through scripts/pytorch_interop.py and give the inference graph's
 * probabilities. Tiny networks (32 px, width 1/16), seeded inputs, eval mode.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { importStateDict } from '../../src/interop/import';
import { openNetwork } from '../../src/infer/model';
import { MODELS } from '../../src/models';
import { train } from '../../src/train/trainer';
import { readCheckpointHeader } from '../../src/checkpoint/checkpoint';
import { PNG } from 'pngjs';
import { melseg } from '../helpers/cli';
import { randn, seeded } from '../helpers/random';

const PY = '/usr/bin/python3';
const SCRIPTS = path.join(__dirname, '..', '..', 'scripts');
const CHECK = path.join(SCRIPTS, 'pytorch_interop_check.py');
const S = 32;
const BASE = 4; // width 1/16
const N = 2;
const TOL = 1e-5;

const probe = spawnSync(PY, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
if (probe.status !== 0) throw new Error(`${PY} cannot import torch and numpy (${probe.stderr.trim().split('\n').pop()}): run bash scripts/setup.sh (python3-torch)`);

function python(args: string[]): void {
  const r = spawnSync(PY, [CHECK, ...args], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: SCRIPTS, OMP_NUM_THREADS: '1' } });
  if (r.status !== 0) throw new Error(`python3 ${path.basename(CHECK)} ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
}

function read<T extends Float32Array | Float64Array>(file: string, Ctor: { new (b: ArrayBuffer): T }): T {
  const b = fs.readFileSync(file);
  return new Ctor(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** PyTorch's probabilities in float32 and float64 (the exact answer for the weights, up to 1e-15). */
function torchProbabilities(dir: string): { p32: Float32Array; p64: Float64Array } {
  return { p32: read(path.join(dir, 'probability.f32'), Float32Array), p64: read(path.join(dir, 'probability.f64'), Float64Array) };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/**
 * melseg's float32 probabilities against PyTorch's: within 1e-5 of the float64 answer, beyond the
 * rounding PyTorch's own float32 run shows there. On the UNets that rounding is a few 1e-7, so this is
 * 1e-5; SegNet's 26 plain layers amplify float32 rounding to about 3e-5 in PyTorch itself (run with
 * MELSEG_INTEROP_VERBOSE=1 to see it), which no float32 implementation can be held below.
 */
function expectAgreement(what: string, melseg: Float32Array, torch: { p32: Float32Array; p64: Float64Array }): void {
  const floor = maxAbsDiff(torch.p32, torch.p64);
  if (process.env.MELSEG_INTEROP_VERBOSE)
    console.log(`${what}: max |melseg - PyTorch f32| ${maxAbsDiff(melseg, torch.p32).toExponential(2)}, |melseg - PyTorch f64| ${maxAbsDiff(melseg, torch.p64).toExponential(2)}, |PyTorch f32 - f64| ${floor.toExponential(2)}`);
  expect(maxAbsDiff(melseg, torch.p64)).toBeLessThanOrEqual(TOL + floor);
  expect(maxAbsDiff(melseg, torch.p32)).toBeLessThanOrEqual(TOL + 2 * floor);
}

/** A comparison means something only where the probabilities vary by far more than the tolerance. */
function spread(p: Float32Array): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of p) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return hi - lo;
}

describe('PyTorch <-> melseg', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-torch-interop-'));
  const graphsDir = path.join(dir, 'graphs');
  const input = path.join(dir, 'x.f32');
  const x = randn(seeded(7), N * 3 * S * S);
  fs.writeFileSync(input, x);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function melsegProbabilities(ckpt: string): Promise<Float32Array> {
    const net = await openNetwork(ckpt, { graphsDir, log: () => undefined });
    return Float32Array.from(await net.run(x, N));
  }

  test.each(MODELS.map((m) => [m.name, m.id] as const))(
    '%s: PyTorch weights imported by melseg give PyTorch probabilities, and load back strictly into PyTorch unchanged',
    async (name, model) => {
      const out = path.join(dir, `torch-${model}`);
      // EGE-UNet at its paper's width 1: below width 1/2 its rounded channels do not tell the width
      const base = name === 'EGE-UNet' ? 64 : BASE;
      python(['torch-weights', String(model), String(base), String(S), String(model), input, String(N), out]);
      const ckpt = path.join(out, 'imported.ckpt');
      const r = await importStateDict({ stateDict: path.join(out, 'weights.safetensors'), out: ckpt, imageSize: S });
      expect(r.config.model.id).toBe(model); // recognised from the tensors
      expect(r.config.width).toBe(base / 64);

      const torch = torchProbabilities(out);
      expect(spread(torch.p32)).toBeGreaterThan(100 * TOL);
      expectAgreement(name, await melsegProbabilities(ckpt), torch);

      // melseg's checkpoint -> load_melseg: the same weights, so PyTorch computes the same bits.
      const back = path.join(out, 'back');
      python(['probabilities', ckpt, input, String(N), back]);
      expect(maxAbsDiff(torchProbabilities(back).p32, torch.p32)).toBe(0);
    },
  );

  test("a checkpoint melseg trained (last.ckpt, AdamW moments included) loads strictly into PyTorch and gives the inference graph's probabilities", async () => {
    const runs = path.join(dir, 'runs');
    const r = await train({ model: 3, loss: 2, data: 'synthetic:12', epochs: 1, batchSize: 4, imageSize: S, width: BASE / 64, seed: 3, out: runs, graphsDir, cacheDir: null, log: () => undefined, progress: false });
    const last = path.join(path.dirname(r.bestCheckpoint!), 'last.ckpt');
    expect(readCheckpointHeader(last).tensors.some((t) => t.name.startsWith('__optim__.'))).toBe(true);
    const melsegP = await melsegProbabilities(last);
    expect(spread(melsegP)).toBeGreaterThan(100 * TOL);
    const back = path.join(dir, 'trained');
    python(['probabilities', last, input, String(N), back]);
    expectAgreement('trained UNet_dilate', melsegP, torchProbabilities(back));
  });

  test('scripts/pytorch_interop.py predicts the masks melseg predict writes, at any image size', async () => {
    const out = path.join(dir, 'predict');
    python(['torch-weights', '3', String(BASE), String(S), '11', input, String(N), out]);
    const ckpt = path.join(out, 'imported.ckpt');
    await importStateDict({ stateDict: path.join(out, 'weights.safetensors'), out: ckpt, imageSize: S });
    // Smooth colour waves plus seeded noise: shrunk, kept (S x S) and enlarged by the network's resize.
    const rand = seeded(5);
    const images = [[S, S], [75, 50], [300, 200], [20, 24]].map(([w, h]) => {
      const png = new PNG({ width: w, height: h });
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++)
          for (let c = 0; c < 4; c++)
            png.data[(y * w + x) * 4 + c] = c === 3 ? 255 : Math.max(0, Math.min(255, Math.round(128 + 100 * Math.sin(x / 7 + c) * Math.cos(y / 5) + 40 * (rand() - 0.5))));
      const file = path.join(out, `img_${w}x${h}.png`);
      fs.writeFileSync(file, PNG.sync.write(png));
      return { file, w, h };
    });
    for (const { file, w, h } of images) {
      const p = path.join(out, `${path.basename(file)}.f32`);
      python(['probability-map', ckpt, file, p]);
      const prob = read(p, Float32Array);
      // The median as threshold: half the pixels on each side, so a wrong mask cannot pass unnoticed.
      const t = Number([...prob].sort((a, b) => a - b)[Math.floor(prob.length / 2)].toFixed(4));
      const r = melseg(['predict', '--checkpoint', ckpt, file, '--out', path.join(out, 'masks'), '--threshold', String(t)]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`settings: tta none, threshold ${t}`);
      const mask = PNG.sync.read(fs.readFileSync(path.join(out, 'masks', `${path.basename(file, '.png')}_mask.png`)));
      expect([mask.width, mask.height]).toEqual([w, h]);
      let lesion = 0;
      for (let i = 0; i < w * h; i++) {
        const melsegSays = mask.data[i * 4] > 127;
        lesion += melsegSays ? 1 : 0;
        // Only a pixel whose probability is within float32 rounding of the threshold may go either way.
        if (melsegSays !== prob[i] > t) expect(Math.abs(prob[i] - t)).toBeLessThan(TOL);
      }
      expect(Math.abs(lesion / (w * h) - 0.5)).toBeLessThan(0.1);

      // The script's command line writes that mask.
      const png = path.join(out, `${path.basename(file, '.png')}_torch.png`);
      const cli = spawnSync(PY, [path.join(SCRIPTS, 'pytorch_interop.py'), 'predict', ckpt, file, png, String(t)], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
      expect(cli.stderr).toBe('');
      const torchMask = PNG.sync.read(fs.readFileSync(png));
      let differ = 0;
      for (let i = 0; i < w * h; i++) differ += torchMask.data[i * 4] > 127 !== prob[i] > t ? 1 : 0;
      expect(differ).toBe(0);
    }
  });
});
