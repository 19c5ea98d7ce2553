/**
 * scripts/torch_train.py, the PyTorch trainer with melseg's recipe (issue 11): on melseg's own batches
 * it must take the same steps as melseg's train-step graph, its losses must be melseg's, its "melseg"
 * pipeline must be melseg's augmentation, and its dumps must replay. Python is Debian's python3-torch
 * and python3-torchvision (scripts/setup.sh installs both); tiny shapes, seeded data, offline.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { gradients } from '../../src/autodiff';
import { augmentParamsFor, applyAugment, maskToTensor, resizeBilinear, resizeNearest, CACHED_AUGMENT, toTensor } from '../../src/data';
import { evalGraph, initialCheckpoint, parameterSpecs, resolveConfig, trainStepGraph } from '../../src/graphs';
import { LOSSES } from '../../src/losses';
import { Graph } from '../../src/onnx/graph';
import * as N from '../../src/onnx/names';
import { serialize } from '../../src/onnx/proto';
import { ReduceLROnPlateau } from '../../src/optim/plateau';
import { readResults, RESULT_COLUMNS } from '../../src/report/results';
import { checkCompatible, loadCheckpoint, saveCheckpointSync } from '../../src/checkpoint/checkpoint';
import { iou } from '../../src/metrics';
import { ModelState } from '../../src/checkpoint/state';
import { randn, seeded } from '../helpers/random';

const PY = '/usr/bin/python3';
const SCRIPTS = path.join(__dirname, '..', '..', 'scripts');
const TRAIN = path.join(SCRIPTS, 'torch_train.py');
const DATA = path.join(SCRIPTS, 'torch_data.py');

const probe = spawnSync(PY, ['-c', 'import torch, torchvision, PIL'], { encoding: 'utf8' });
if (probe.status !== 0) {
  throw new Error(`${PY} cannot import torch, torchvision and PIL (${probe.stderr.trim().split('\n').pop()}): run bash scripts/setup.sh (python3-torch, python3-torchvision)`);
}

/**
 * One thread: these networks are tiny, and on a busy 2-core machine two OpenMP threads waiting on each
 * other made an epoch of 5 images at 32 px take 15 s instead of 0.2 s.
 */
function python(args: string[], cwd?: string): { status: number | null; stdout: string; stderr: string } {
  const threads = args[0] === TRAIN ? ['--threads', '1'] : [];
  return spawnSync(PY, [...args, ...threads], { cwd, encoding: 'utf8', env: { ...process.env, PYTHONPATH: SCRIPTS, OMP_NUM_THREADS: '1' } });
}

function pythonOk(args: string[], cwd?: string): string {
  const r = python(args, cwd);
  if (r.status !== 0) throw new Error(`python3 ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return r.stderr;
}

/** numpy's .npy v1.0: magic, version, header length (uint16 LE), a dict literal padded to 64 bytes, the data. */
function npy(data: Float32Array, shape: number[]): Buffer {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')},), }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-torchref-'));
}

/** n lesion-like samples: a disc mask, and an image whose first channel is brighter inside it. */
function samples(rand: () => number, n: number, S: number): { image: Float32Array; mask: Float32Array } {
  const image = randn(rand, n * 3 * S * S, 0.5);
  const mask = new Float32Array(n * S * S);
  for (let k = 0; k < n; k++) {
    const cy = S * (0.3 + 0.4 * rand());
    const cx = S * (0.3 + 0.4 * rand());
    const r = S * (0.15 + 0.15 * rand());
    for (let y = 0; y < S; y++)
      for (let x = 0; x < S; x++) {
        const inside = (y + 0.5 - cy) ** 2 + (x + 0.5 - cx) ** 2 < r * r ? 1 : 0;
        mask[k * S * S + y * S + x] = inside;
        image[k * 3 * S * S + y * S + x] += 1.5 * inside;
      }
  }
  return { image, mask };
}

const relDiff = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-6);

describe('torch_train.py mode A on a melseg dump (UNet_dilate x tversky_loss_alpha_0.10)', () => {
  const S = 32;
  const W = 1 / 16;
  const B = 3;
  const EPOCHS = 2;
  const dir = tmp();
  const dump = path.join(dir, 'dump');
  const c = resolveConfig({ model: 3, loss: 5, imageSize: S, width: W, seed: 7 });
  const specs = parameterSpecs(c);
  const ck = initialCheckpoint(c, specs);
  const rand = seeded(11);
  // 5 training images in batches of 3 + 2 (a partial last batch), reshuffled per epoch; 3 validation images
  const train = samples(rand, 5, S);
  const valid = samples(rand, 3, S);
  const steps: { image: Float32Array; mask: Float32Array; n: number }[][] = [];
  let stepsOut: { epoch: number; batch: number; loss: number; lr: number }[] = [];
  let stderr = '';
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  beforeAll(() => {
    fs.mkdirSync(path.join(dump, 'train'), { recursive: true });
    const recipe = { model: 'UNet_dilate', modelId: 3, loss: 'tversky_loss_alpha_0.10', lossId: 5, imageSize: S, width: W, epochs: EPOCHS, batchSize: B, lr: 3e-4, weightDecay: 0.01, schedule: 'plateau', seed: 7, futureKey: 'ignored' };
    fs.writeFileSync(path.join(dump, 'recipe.json'), JSON.stringify(recipe));
    saveCheckpointSync(path.join(dump, 'initial.ckpt'), ck);
    for (let e = 1; e <= EPOCHS; e++) {
      const order = e === 1 ? [0, 1, 2, 3, 4] : [3, 0, 4, 1, 2];
      const epoch: (typeof steps)[number] = [];
      for (let b = 0; b * B < order.length; b++) {
        const idx = order.slice(b * B, b * B + B);
        const image = new Float32Array(idx.length * 3 * S * S);
        const mask = new Float32Array(idx.length * S * S);
        idx.forEach((i, k) => {
          image.set(train.image.subarray(i * 3 * S * S, (i + 1) * 3 * S * S), k * 3 * S * S);
          mask.set(train.mask.subarray(i * S * S, (i + 1) * S * S), k * S * S);
        });
        const stem = path.join(dump, 'train', `e${String(e).padStart(3, '0')}-b${String(b).padStart(4, '0')}`);
        fs.writeFileSync(`${stem}.image.npy`, npy(image, [idx.length, 3, S, S]));
        fs.writeFileSync(`${stem}.mask.npy`, npy(mask, [idx.length, 1, S, S]));
        epoch.push({ image, mask, n: idx.length });
      }
      steps.push(epoch);
    }
    fs.writeFileSync(path.join(dump, 'valid.image.npy'), npy(valid.image, [3, 3, S, S]));
    fs.writeFileSync(path.join(dump, 'valid.mask.npy'), npy(valid.mask, [3, 1, S, S]));
    fs.writeFileSync(path.join(dump, 'valid.ids.json'), JSON.stringify(['v0', 'v1', 'v2']));
    stderr = pythonOk([TRAIN, '--batches', dump, '--out', path.join(dir, 'results.csv'), '--steps-out', path.join(dir, 'steps.json'), '--save-best', path.join(dir, 'best.ckpt')]);
    stepsOut = JSON.parse(fs.readFileSync(path.join(dir, 'steps.json'), 'utf8'));
  });

  test('takes the same steps as melseg\'s train-step graph: step losses, valid loss and IoU', async () => {
    const stepSession = await ort.InferenceSession.create(serialize(trainStepGraph(c)));
    const evalSession = await ort.InferenceSession.create(serialize(evalGraph(c)));
    const stepInputs = stepSession.inputNames;
    const evalInputs = evalSession.inputNames;
    const state = ModelState.fromCheckpoint(ck, specs, c);
    const plateau = new ReduceLROnPlateau(3e-4, { mode: 'max' });
    const losses: number[] = [];
    const epochs: { validLoss: number; iou: number; weights: Map<string, Float32Array> }[] = [];
    for (const epoch of steps) {
      for (const b of epoch) {
        const out = await stepSession.run({
          ...state.feeds(stepInputs),
          [N.IMAGE]: new ort.Tensor('float32', b.image, [b.n, 3, S, S]),
          [N.MASK]: new ort.Tensor('float32', b.mask, [b.n, 1, S, S]),
          [N.LR]: new ort.Tensor('float32', Float32Array.of(plateau.lr), []),
          [N.STEP]: new ort.Tensor('float32', Float32Array.of(state.step + 1), []),
        });
        losses.push(out[N.LOSS].data[0] as number);
        state.absorb(out);
      }
      // validation: one batch of 3 (= batch size)
      const out = await evalSession.run({
        ...state.feeds(evalInputs),
        [N.IMAGE]: new ort.Tensor('float32', valid.image, [3, 3, S, S]),
        [N.MASK]: new ort.Tensor('float32', valid.mask, [3, 1, S, S]),
      });
      const inter = out[N.INTERSECTION].data as Float32Array;
      const union = out[N.UNION].data as Float32Array;
      const mean = [0, 1, 2].reduce((s, k) => s + iou(inter[k], union[k]), 0) / 3;
      epochs.push({ validLoss: out[N.LOSS].data[0] as number, iou: mean, weights: new Map(state.values) });
      plateau.step(mean);
    }
    expect(stepsOut.map((s) => [s.epoch, s.batch])).toEqual([[1, 0], [1, 1], [2, 0], [2, 1]]);
    // Same weights and batch: the first loss agrees to float32 rounding, and so do later ones
    // (AdamW's first steps are nearly sign(gradient) * lr, the same in both frameworks).
    expect(relDiff(stepsOut[0].loss, losses[0])).toBeLessThan(1e-5);
    for (let k = 1; k < losses.length; k++) expect(relDiff(stepsOut[k].loss, losses[k])).toBeLessThan(1e-4);
    const rows = readResults(path.join(dir, 'results.csv'));
    rows.forEach((r, e) => {
      expect(relDiff(r.valid_loss, epochs[e].validLoss)).toBeLessThan(1e-3);
      expect(Math.abs(r.metric - epochs[e].iou)).toBeLessThan(0.01);
    });
    // The weights of the best epoch (--save-best) against melseg's after that epoch.
    const bestEpoch = rows.reduce((b, r) => (r.metric > b.metric ? r : b)).epoch;
    const best = loadCheckpoint(path.join(dir, 'best.ckpt'));
    const lr = 3e-4;
    const stepsTaken = 2 * bestEpoch;
    const hasBuffer = (prefix: string) => specs.some((p) => p.name === `${prefix}.running_mean`);
    for (const p of specs.filter((q) => q.trainable)) {
      const ours = epochs[bestEpoch - 1].weights.get(p.name)!;
      const diff = Math.max(...Array.from(best.params[p.name].data as Float32Array).map((v, i) => Math.abs(v - ours[i])));
      const [, prefix, index, kind] = /^(.*?)\.?(\d*)\.(weight|bias)$/.exec(p.name)!;
      let tolerance: number;
      // A conv bias right before a BatchNorm has a gradient of zero in theory: AdamW turns its float
      // noise into +-lr steps of either sign, which the BatchNorm cancels.
      if (kind === 'bias' && index !== '' && hasBuffer(`${prefix}.${Number(index) + 1}`)) tolerance = 2 * lr * stepsTaken;
      // BatchNorm scales start at 1, so weight decay alone moves them by lr * 0.01 = 3e-6 a step:
      // agreement to 1e-6 shows both frameworks decay them alike.
      else if (hasBuffer(p.name.replace(/\.weight$|\.bias$/, ''))) tolerance = 1e-6;
      // Everything else: within a fifth of one step (tiny gradients in the deep layers carry float noise).
      else tolerance = 0.2 * lr;
      expect([p.name, diff <= tolerance]).toEqual([p.name, true]);
    }
  });

  test('writes melseg\'s results columns, one row per epoch, which melseg reads back', () => {
    const text = fs.readFileSync(path.join(dir, 'results.csv'), 'utf8');
    expect(text.split('\n')[0]).toBe(RESULT_COLUMNS.join(','));
    const rows = readResults(path.join(dir, 'results.csv'));
    expect(rows.map((r) => [r.epoch, r.model, r.criterion, r.run, r.lr])).toEqual([
      [1, 'UNet_dilate', 'tversky_loss_alpha_0.10', 'torch-7-batches', 3e-4],
      [2, 'UNet_dilate', 'tversky_loss_alpha_0.10', 'torch-7-batches', 3e-4],
    ]);
    // train_loss = the batch losses weighted by batch size (3 + 2 images)
    for (const [e, r] of rows.entries()) {
      const s = stepsOut.filter((x) => x.epoch === e + 1);
      expect(r.train_loss).toBeCloseTo((3 * s[0].loss + 2 * s[1].loss) / 5, 6);
      expect(r.metric).toBeGreaterThanOrEqual(0);
      expect(r.metric).toBeLessThanOrEqual(1);
      expect(r.seconds).toBeGreaterThan(0);
      expect(r.images_per_s).toBeGreaterThan(0);
    }
    expect(stderr).toMatch(/epoch 2\/2: train loss -?\d\.\d{4}, valid loss -?\d\.\d{4}, valid IoU \d\.\d{4}, lr 3\.0e-04, [\d.]+ s, [\d.]+ img\/s, ETA 0s/);
  });

  test('replaces its own rows on a rerun and keeps other runs\' rows', () => {
    const csv = path.join(dir, 'shared.csv');
    const row = (loss: number, run: string, epoch: number) => `${loss},0.4,0.6,UNet_dilate,tversky_loss_alpha_0.10,${epoch},0.0003,1,1,${run}`;
    fs.writeFileSync(csv, [RESULT_COLUMNS.join(','), row(0.5, 'melseg-run', 1), row(9, 'again', 1), row(9, 'again', 2)].join('\n') + '\n');
    pythonOk([TRAIN, '--batches', dump, '--epochs', '1', '--out', csv, '--run', 'again']);
    const rows = readResults(csv);
    expect(rows.map((r) => [r.run, r.epoch])).toEqual([['melseg-run', 1], ['again', 1]]);
    expect(rows[0].train_loss).toBe(0.5);
    expect(rows[1].train_loss).toBeCloseTo(stepsOut.length ? (3 * stepsOut[0].loss + 2 * stepsOut[1].loss) / 5 : NaN, 6);
  });
});

test('every loss of melseg\'s table has the same value and gradient in torch_train.py', async () => {
  const dir = tmp();
  try {
    const shape = [2, 1, 6, 6];
    const n = 72;
    const rand = seeded(5);
    // logits up to +-40 reach the clamp of BCELoss and the saturated ends of log-sigmoid
    const logits = randn(rand, n, 3).map((v, i) => (i % 17 === 0 ? 40 * Math.sign(v) : v));
    const mask = new Float32Array(n).map(() => (rand() < 0.4 ? 1 : 0));
    const ours: Record<string, { loss: number; grad: number[] }> = {};
    for (const def of LOSSES) {
      const g = new Graph('loss');
      const x = g.input('logits', shape);
      const y = g.input(N.MASK, shape);
      const loss = def.build({ g, logits: x, prob: g.op1('Sigmoid', [x]), mask: y });
      const grad = gradients(g, loss, [x]).get('logits')!;
      g.output(loss, N.LOSS);
      g.output(grad, 'grad');
      g.prune();
      const r = await (await ort.InferenceSession.create(serialize(g))).run({
        logits: new ort.Tensor('float32', logits, shape),
        [N.MASK]: new ort.Tensor('float32', mask, shape),
      });
      ours[def.id] = { loss: r[N.LOSS].data[0] as number, grad: Array.from(r.grad.data as Float32Array) };
    }
    fs.writeFileSync(path.join(dir, 'in.json'), JSON.stringify({ logits: Array.from(logits), mask: Array.from(mask), shape, ids: LOSSES.map((l) => l.id), names: LOSSES.map((l) => l.name) }));
    const code = `
import json, sys, torch, torch_train as tt
a = json.load(open(sys.argv[1]))
out = {}
for i, name in zip(a['ids'], a['names']):
    assert tt.LOSS_NAMES[i] == name, 'loss %d is %s in melseg, %s in torch_train.py' % (i, name, tt.LOSS_NAMES[i])
    x = torch.tensor(a['logits'], dtype=torch.float32).reshape(a['shape']).requires_grad_()
    y = torch.tensor(a['mask'], dtype=torch.float32).reshape(a['shape'])
    loss = tt.melseg_loss(i)(x, y)
    loss.backward()
    out[i] = {'loss': loss.item(), 'grad': x.grad.flatten().tolist()}
json.dump(out, open(sys.argv[2], 'w'))`;
    pythonOk(['-c', code, path.join(dir, 'in.json'), path.join(dir, 'out.json')]);
    const theirs = JSON.parse(fs.readFileSync(path.join(dir, 'out.json'), 'utf8'));
    for (const def of LOSSES) {
      const t = theirs[def.id];
      expect([def.name, relDiff(t.loss, ours[def.id].loss) < 1e-5]).toEqual([def.name, true]);
      const scale = Math.max(...ours[def.id].grad.map(Math.abs));
      const worst = Math.max(...t.grad.map((v: number, i: number) => Math.abs(v - ours[def.id].grad[i])));
      expect([def.name, worst <= 1e-5 * scale]).toEqual([def.name, true]);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe('torch_train.py mode B on an ISIC folder', () => {
  const dir = tmp();
  const data = path.join(dir, 'isic');
  const split = path.join(dir, 'split.json');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  beforeAll(() => {
    pythonOk([DATA, 'fake-isic', data, '--images', '10', '--size', '48', '--seed', '3']);
    pythonOk([DATA, 'split', '--data', data, '--train', '5', '--valid', '2', '--test', '2', '--seed', '3', '--out', split]);
  });
  const parts = () => JSON.parse(fs.readFileSync(split, 'utf8')) as { train: string[]; valid: string[]; test: string[] };

  test('torch_data.py split draws a train/valid/test subset of the folder\'s ids', () => {
    const ids = Array.from({ length: 10 }, (_, k) => `ISIC_${String(k).padStart(7, '0')}`);
    expect(fs.readdirSync(path.join(data, 'images')).sort()).toEqual(ids.map((i) => `${i}.jpg`));
    expect(fs.readdirSync(path.join(data, 'masks')).sort()).toEqual(ids.map((i) => `${i}_segmentation.png`));
    const s = parts();
    expect([s.train.length, s.valid.length, s.test.length]).toEqual([5, 2, 2]);
    const all = [...s.train, ...s.valid, ...s.test];
    expect(new Set(all).size).toBe(9);
    for (const id of all) expect(ids).toContain(id);
    for (const p of [s.train, s.valid, s.test]) expect(p).toEqual([...p].sort());
  });
  const common = ['--data', data, '--split', split, '--image-size', '32', '--width', '0.0625', '--batch-size', '3', '--seed', '4'];

  test('--save-batches writes a dump that melseg can load and mode A replays to the same results', () => {
    const csvB = path.join(dir, 'b.csv');
    const csvA = path.join(dir, 'a.csv');
    const dump = path.join(dir, 'dump');
    const errB = pythonOk([TRAIN, ...common, '--pipeline', 'plain', '--epochs', '2', '--out', csvB, '--save-batches', dump, '--evaluate']);
    expect(errB).toMatch(/test \(2 images, weights of epoch [12]\): IoU \d\.\d{4}/);
    expect(fs.readdirSync(path.join(dump, 'train')).sort()).toEqual(
      ['e001-b0000', 'e001-b0001', 'e002-b0000', 'e002-b0001'].flatMap((s) => [`${s}.image.npy`, `${s}.mask.npy`]),
    );
    const recipe = JSON.parse(fs.readFileSync(path.join(dump, 'recipe.json'), 'utf8'));
    expect(recipe).toMatchObject({ model: 'UNet_dilate', modelId: 3, loss: 'tversky_loss_alpha_0.10', lossId: 5, imageSize: 32, width: 0.0625, epochs: 2, batchSize: 3, schedule: 'plateau', seed: 4, pipeline: 'plain' });
    expect(JSON.parse(fs.readFileSync(path.join(dump, 'valid.ids.json'), 'utf8'))).toEqual(parts().valid);
    // melseg reads the initial weights written from PyTorch
    const c = resolveConfig({ model: 3, loss: 5, imageSize: 32, width: 0.0625 });
    const ck = loadCheckpoint(path.join(dump, 'initial.ckpt'));
    expect(() => checkCompatible(ck, { model: 3, imageSize: 32, width: 0.0625 }, Object.fromEntries(parameterSpecs(c).map((p) => [p.name, p.shape])))).not.toThrow();
    expect(ck.params['conv1.0.weight'].dtype).toBe('float32');
    expect(ck.params['conv1.1.num_batches_tracked'].dtype).toBe('int64');

    pythonOk([TRAIN, '--batches', dump, '--out', csvA]);
    const a = readResults(csvA);
    const b = readResults(csvB);
    expect(b.map((r) => r.run)).toEqual(['torch-4-plain', 'torch-4-plain']);
    expect(a.map((r) => r.run)).toEqual(['torch-4-batches', 'torch-4-batches']);
    for (const [k, r] of a.entries()) {
      expect(relDiff(r.train_loss, b[k].train_loss)).toBeLessThan(1e-5);
      expect(relDiff(r.valid_loss, b[k].valid_loss)).toBeLessThan(1e-5);
      expect(Math.abs(r.metric - b[k].metric)).toBeLessThan(1e-6);
    }
  });

  test.each(['study', 'melseg'])('trains with the %s pipeline', (pipeline) => {
    const csv = path.join(dir, `${pipeline}.csv`);
    pythonOk([TRAIN, ...common, '--pipeline', pipeline, '--epochs', '1', '--out', csv]);
    const rows = readResults(csv);
    expect(rows.map((r) => [r.run, r.epoch, r.model, r.criterion])).toEqual([[`torch-4-${pipeline}`, 1, 'UNet_dilate', 'tversky_loss_alpha_0.10']]);
    expect(Number.isFinite(rows[0].train_loss) && Number.isFinite(rows[0].valid_loss)).toBe(true);
    expect(rows[0].metric).toBeGreaterThanOrEqual(0);
  });

  test('bad input gets a clear error naming the file or flag, without a traceback', () => {
    const badSplit = path.join(dir, 'bad-split.json');
    fs.writeFileSync(badSplit, JSON.stringify({ train: [parts().train[0], 'nope'], valid: parts().valid }));
    // a dump (from the --save-batches test) whose first batch is NaN
    const nanDump = path.join(dir, 'nan-dump');
    fs.cpSync(path.join(dir, 'dump'), nanDump, { recursive: true });
    fs.writeFileSync(path.join(nanDump, 'train', 'e001-b0000.image.npy'), npy(new Float32Array(3 * 3 * 32 * 32).fill(NaN), [3, 3, 32, 32]));
    const cases: [string[], RegExp][] = [
      [['--batches', nanDump, '--out', path.join(dir, 'nan.csv')], /epoch 1, batch 0: the tversky_loss_alpha_0\.10 loss is nan; the run stopped/],
      [['--data', data, '--split', badSplit, '--pipeline', 'plain'], /--split .*bad-split\.json names 1 id\(s\) of "train" that have no image \+ mask in the data folder: nope/],
      [['--data', data, '--split', split], /--data needs --split FILE and --pipeline melseg\|plain\|study/],
      [['--batches', path.join(dir, 'none')], /--batches .*none: not a folder; expected a batch dump/],
      [['--batches', data], /recipe\.json not found: expected the dump's recipe/],
      [[...common, '--pipeline', 'plain', '--model', 'UNet_big'], /--model UNet_big: unknown model; expected a number or a name from\n\s+0\s+SegNet/],
      [[...common, '--pipeline', 'plain', '--image-size', '40'], /image size 40: expected a multiple of 32/],
    ];
    // every case in one interpreter (importing torch dominates a run): main() exits through SystemExit
    const code = `
import contextlib, io, json, sys, torch_train
out = []
for argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            torch_train.main(argv)
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
            if not isinstance(e.code, int):
                err.write(str(e.code))
    out.append({'code': code, 'stderr': err.getvalue()})
print(json.dumps(out))`;
    const r = python(['-c', code, JSON.stringify(cases.map((c) => c[0]))]);
    expect(r.stderr).not.toMatch(/Traceback/);
    const got: { code: number; stderr: string }[] = JSON.parse(r.stdout);
    cases.forEach(([, message], k) => {
      expect(got[k].code).not.toBe(0);
      expect(got[k].stderr).toMatch(message);
      expect(got[k].stderr).not.toMatch(/Traceback/);
    });
  });
});

describe('the melseg pipeline of torch_data.py is melseg\'s data preparation', () => {
  const S = 32;
  // augmentation: 8 samples through melseg's applyAugment + toTensor
  const rand = seeded(9);
  const augment = Array.from({ length: 8 }, (_, k) => {
    const image = new Uint8Array(S * S * 3).map((_, i) => Math.min(255, Math.floor(120 + 60 * Math.sin(i / 37) + 70 * rand())));
    const mask = new Uint8Array(S * S).map((_, i) => (((i % S) - 15) ** 2 + (Math.floor(i / S) - 13) ** 2 < 80 ? 1 : 0));
    const params = augmentParamsFor(21, 1, k, S, CACHED_AUGMENT);
    const out = applyAugment(params, { data: image, width: S, height: S, channels: 3 }, { data: mask, width: S, height: S });
    return { image: Array.from(image), mask: Array.from(mask), params, want: Array.from(toTensor(out.image)), wantMask: Array.from(maskToTensor(out.mask)) };
  });
  // resizing: melseg's dataset loader from three source sizes (shrinking, square, enlarging)
  const resize = [[50, 40], [48, 48], [20, 24]].map(([w, h]) => {
    const image = new Uint8Array(w * h * 3).map(() => Math.floor(256 * rand()));
    const mask = new Uint8Array(w * h).map(() => (rand() < 0.5 ? 1 : 0));
    const want = resizeBilinear({ data: image, width: w, height: h, channels: 3 }, S);
    const wantMask = resizeNearest({ data: mask, width: w, height: h }, S);
    return { w, h, image: Array.from(image), mask: Array.from(mask), want: Array.from(want.data), wantMask: Array.from(wantMask.data) };
  });
  let got: { augment: { image: number[]; mask: number[] }[]; resize: { image: number[]; mask: number[] }[] };

  beforeAll(() => {
    const dir = tmp();
    try {
      fs.writeFileSync(path.join(dir, 'in.json'), JSON.stringify({ augment, resize, size: S }));
      const code = `
import json, sys, numpy as np, torch_data as D
a = json.load(open(sys.argv[1]))
S = a['size']
out = {'augment': [], 'resize': []}
for c in a['augment']:
    img, mask = D.melseg_apply(c['params'], np.array(c['image'], np.uint8).reshape(S, S, 3), np.array(c['mask'], np.uint8).reshape(S, S))
    out['augment'].append({'image': img.flatten().tolist(), 'mask': mask.flatten().tolist()})
for c in a['resize']:
    img, mask = D.melseg_resize(np.array(c['image'], np.uint8).reshape(c['h'], c['w'], 3), np.array(c['mask'], np.uint8).reshape(c['h'], c['w']), S)
    out['resize'].append({'image': img.flatten().tolist(), 'mask': mask.flatten().tolist()})
json.dump(out, open(sys.argv[2], 'w'))`;
      pythonOk(['-c', code, path.join(dir, 'in.json'), path.join(dir, 'out.json')]);
      got = JSON.parse(fs.readFileSync(path.join(dir, 'out.json'), 'utf8'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('applies melseg\'s augmentation parameters as melseg\'s applyAugment does', () => {
    // the cases cover both branches of the greyscale, autocontrast and flip coins
    for (const key of ['greyscale', 'autocontrast', 'flipX', 'flipY'] as const) expect(new Set(augment.map((c) => c.params[key])).size).toBe(2);
    augment.forEach((c, k) => {
      expect(got.augment[k].mask).toEqual(c.wantMask);
      // normalised units, where 1/255 of the range is ~0.017: float32 rounding only
      expect(Math.max(...c.want.map((v, i) => Math.abs(v - got.augment[k].image[i])))).toBeLessThan(1e-4);
    });
  });

  test('resizes images and masks as melseg\'s dataset loader does (images within 1/255)', () => {
    resize.forEach((c, k) => {
      expect(got.resize[k].mask).toEqual(c.wantMask);
      expect(Math.max(...c.want.map((v, i) => Math.abs(v - got.resize[k].image[i])))).toBeLessThanOrEqual(1);
    });
  });
});
