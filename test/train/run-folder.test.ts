/**
 * A run folder belongs to one run: re-runs, resumes with other settings, concurrent processes,
 * signals mid-epoch and diverging weights never lose or mix results.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readResults } from '../../src/report';
import { loadCheckpoint, saveCheckpoint } from '../../src/checkpoint/checkpoint';
import { DivergedError, StoppedError, train, TrainOptions } from '../../src/train/trainer';
import { lockFolder } from '../../src/util/lock';

// the module object itself (what src reads through its import), so that a spy reaches it
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeFs: typeof fs = require('fs');
const GRAPHS = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-runs-graphs-'));
const CFG: TrainOptions = { model: 1, loss: 1, data: 'synthetic:24', epochs: 2, batchSize: 6, imageSize: 32, width: 1 / 16, seed: 5, lr: 3e-4, schedule: 'plateau', cacheDir: null, graphsDir: GRAPHS, workers: 0, progress: false, log: () => undefined };
const RUN = 'UNet_bce_loss_s32_w0.0625_seed5';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-runs-'));
}

const weights = (file: string) => Object.fromEntries(Object.entries(loadCheckpoint(file).params).map(([k, t]) => [k, Array.from(t.data as Float32Array)]));
const rowsOf = (file: string) => readResults(file).map(({ seconds, images_per_s, ...rest }) => rest);

/** An AbortSignal that reports a SIGINT from its n-th reading on (the trainer reads it once per batch). */
function signalAfter(n: number): AbortSignal {
  let reads = 0;
  return { get aborted() { return ++reads >= n; }, reason: 'SIGINT' } as unknown as AbortSignal;
}

describe('a run folder belongs to one run', () => {
  const out = tmp();
  let first: Awaited<ReturnType<typeof train>>;
  beforeAll(async () => {
    first = await train({ ...CFG, out });
  });

  test('re-running it without --resume is refused, naming the folder and the ways out, and changes nothing', async () => {
    const best = fs.readFileSync(first.bestCheckpoint!);
    const rows = rowsOf(first.resultsFile);
    await expect(train({ ...CFG, out, epochs: 1 })).rejects.toThrow(new RegExp(`${RUN} already holds a run that finished 2 epoch\\(s\\).*--resume.*--overwrite.*--run-id`));
    expect(fs.readFileSync(first.bestCheckpoint!).equals(best)).toBe(true);
    expect(rowsOf(first.resultsFile)).toEqual(rows);
  });

  test('--resume with another lr or batch size names each setting; --allow-change applies one and says so', async () => {
    await expect(train({ ...CFG, out, epochs: 3, lr: 1e-3, batchSize: 4, resume: true })).rejects.toThrow(/other settings: --batch-size 6 -> 4; --lr 0\.0003 -> 0\.001\. .*--allow-change batch-size,lr/);
    await expect(train({ ...CFG, out, epochs: 3, data: 'synthetic:30', resume: true })).rejects.toThrow(/--data synthetic:24 -> synthetic:30.*--data cannot change in a run/);
    const lines: string[] = [];
    const r = await train({ ...CFG, out, epochs: 3, lr: 1e-4, resume: true, allowChange: ['lr'], log: (s) => lines.push(s) });
    expect(lines).toContainEqual(expect.stringMatching(/changing --lr 0\.0003 -> 0\.0001 from epoch 3 on \(--allow-change\)/));
    expect(r.history.map((h) => h.lr)).toEqual([3e-4, 3e-4, 1e-4]);
    const record = JSON.parse(fs.readFileSync(path.join(r.runDir, 'run.json'), 'utf8'));
    expect(record.settings.lr).toBe(1e-4);
    expect(record.changes.map((c: { change: string }) => c.change)).toEqual(['--lr 0.0003 -> 0.0001', '--epochs 2 -> 3']);
  });

  test('--overwrite moves the earlier run aside with its CSV rows, and starts anew', async () => {
    const before = rowsOf(first.resultsFile).filter((x) => x.run === RUN);
    const r = await train({ ...CFG, out, epochs: 1, overwrite: true });
    const asides = fs.readdirSync(path.join(out, 'artifacts')).filter((d) => d.startsWith(`${RUN}.replaced-`));
    expect(asides).toHaveLength(1);
    expect(fs.existsSync(path.join(out, 'artifacts', asides[0], 'last.ckpt'))).toBe(true);
    const rows = readResults(r.resultsFile);
    expect(rows.filter((x) => x.run === asides[0]).map((x) => x.epoch)).toEqual(before.map((x) => x.epoch));
    expect(rows.filter((x) => x.run === RUN).map((x) => x.epoch)).toEqual([1]);
  });

  test('a second process on the same run folder is refused; a lock left by a dead process is taken over', async () => {
    const lock = lockFolder(first.runDir, 'run folder');
    try {
      await expect(train({ ...CFG, out, epochs: 2, resume: true })).rejects.toThrow(new RegExp(`run folder .*${RUN} is in use by process ${process.pid}`));
    } finally {
      lock.release();
    }
    // a lock whose owner is gone (a pid that has exited) does not block
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    fs.mkdirSync(path.join(first.runDir, '.lock'));
    fs.writeFileSync(path.join(first.runDir, '.lock', 'owner.json'), JSON.stringify({ pid: Number(dead), host: os.hostname(), since: 'then' }));
    const r = await train({ ...CFG, out, epochs: 2, resume: true });
    expect(r.history.map((h) => h.epoch)).toEqual([1, 2]);
    expect(fs.existsSync(path.join(first.runDir, '.lock'))).toBe(false);
  });
});

describe("a run's length: the recipe's rule when --epochs is not given, kept on --resume", () => {
  const { epochs: _given, ...noEpochs } = CFG;
  const record = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));

  test('the recipe line says how the epochs were chosen, run.json records it, and --resume without --epochs keeps them', async () => {
    const out = tmp();
    const lines: string[] = [];
    const r = await train({ ...noEpochs, out, stopAfterEpochs: 1, log: (s) => lines.push(s) });
    // synthetic:24 splits into 18 training images: 9000 / 18 is past the cap
    expect(lines).toContainEqual(expect.stringContaining(', 60 epochs (from the data: 9000 image presentations over 18 training images, within 20-60 epochs; --epochs sets them) of batch 6,'));
    expect([record(r.runDir).settings.epochs, record(r.runDir).settings.epochsFrom]).toEqual([60, { presentations: 9000, min: 20, max: 60, trainImages: 18 }]);
    const resumed = await train({ ...noEpochs, out, resume: true, stopAfterEpochs: 1 });
    expect([resumed.settings.epochs, resumed.history.length, record(r.runDir).changes]).toEqual([60, 2, []]);
  });

  test('a run started with --epochs and resumed without it finishes its own epochs, not the rule\'s', async () => {
    const out = tmp();
    await train({ ...CFG, out, epochs: 3, stopAfterEpochs: 1 });
    const lines: string[] = [];
    // stopAfterEpochs: a run re-planned to the rule's 60 would fail the checks below quickly
    const r = await train({ ...noEpochs, out, resume: true, stopAfterEpochs: 2, log: (s) => lines.push(s) });
    expect(r.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
    expect([r.settings.epochs, 'epochsFrom' in r.settings, record(r.runDir).changes]).toEqual([3, false, []]);
    expect(lines.filter((l) => l.startsWith('changing'))).toEqual([]);
  });
});

describe('stopping and diverging', () => {
  test('a signal mid-epoch saves the run there; --resume ends with the weights and rows of an uninterrupted run', async () => {
    const a = tmp();
    const whole = await train({ ...CFG, out: a, epochs: 2 });
    const b = tmp();
    // 3 batches an epoch: the 5th reading is before epoch 2's second batch
    const stop = train({ ...CFG, out: b, epochs: 2, signal: signalAfter(5) });
    await expect(stop).rejects.toThrow(StoppedError);
    await expect(stop).rejects.toThrow(/stopped by SIGINT in epoch 2 before batch 2 of 3; saved the run there in .*last\.ckpt\. Kept: .*last\.ckpt, .*best\.ckpt/);
    expect(readResults(path.join(b, 'results.csv')).map((r) => r.epoch)).toEqual([1]);
    const lines: string[] = [];
    const resumed = await train({ ...CFG, out: b, epochs: 2, resume: true, log: (s) => lines.push(s) });
    expect(lines).toContainEqual(expect.stringMatching(/resuming .* in epoch 2, before batch 2 from/));
    expect(weights(resumed.lastCheckpoint)).toEqual(weights(whole.lastCheckpoint));
    expect(rowsOf(resumed.resultsFile)).toEqual(rowsOf(whole.resultsFile));
  });

  test('weights that stopped being finite are never saved: the run stops naming the epoch, step and tensor', async () => {
    const out = tmp();
    const r = await train({ ...CFG, out, epochs: 1 });
    // plant an infinite BatchNorm statistic in last.ckpt: it stays infinite through the running average
    const ck = loadCheckpoint(r.lastCheckpoint);
    (ck.params['conv2.1.running_var'].data as Float32Array)[3] = Infinity;
    await saveCheckpoint(r.lastCheckpoint, ck);
    const planted = fs.readFileSync(r.lastCheckpoint);
    const best = fs.readFileSync(r.bestCheckpoint!);
    const run = train({ ...CFG, out, epochs: 2, resume: true });
    await expect(run).rejects.toThrow(DivergedError);
    await expect(run).rejects.toThrow(/epoch 2 \(AdamW step 6\): conv2\.1\.running_var holds Infinity at index 3; .*nothing of this epoch was saved/);
    expect(fs.readFileSync(r.lastCheckpoint).equals(planted)).toBe(true);
    expect(fs.readFileSync(r.bestCheckpoint!).equals(best)).toBe(true);
    expect(readResults(r.resultsFile).map((x) => x.epoch)).toEqual([1]);
  });

  test('a batch of one image where the network narrows to 1x1 is refused before training', async () => {
    // SegNet at 32 px ends its encoder at 1x1; 19 training images in batches of 6 leave one
    await expect(train({ ...CFG, model: 0, data: 'synthetic:25', out: tmp() })).rejects.toThrow(
      /the last batch of each epoch \(19 images in batches of 6 leave 1\) gives SegNet's smallest BatchNorm \(1x1 at --image-size 32\) a single value per channel.*--batch-size/,
    );
    await expect(train({ ...CFG, model: 0, batchSize: 1, out: tmp() })).rejects.toThrow(/--batch-size 1 gives SegNet's smallest BatchNorm/);
  });

  test('early stopping ends the run when validation IoU stops improving, and the run counts as finished', async () => {
    const out = tmp();
    const r = await train({ ...CFG, out, epochs: 12, earlyStop: 1, lr: 1e-5 });
    expect(r.stoppedEarly).toBeDefined();
    expect(r.history.length).toBeLessThan(12);
    const last = r.history[r.history.length - 1];
    expect(last.epoch - r.best!.epoch).toBe(1);
    const again = await train({ ...CFG, out, epochs: 12, earlyStop: 1, lr: 1e-5, resume: true });
    expect(again.history).toEqual(r.history);
  });

  test('the cosine schedule warms up, then decays to the last epoch', async () => {
    const r = await train({ ...CFG, out: tmp(), epochs: 4, schedule: 'cosine', warmupEpochs: 1, lr: 1e-3 });
    const lrs = r.history.map((h) => h.lr);
    expect(lrs[0]).toBeCloseTo(1e-3, 12);
    expect(lrs[1]).toBeCloseTo(1e-3, 12);
    expect(lrs[2]).toBeCloseTo(0.75e-3, 12);
    expect(lrs[3]).toBeCloseTo(0.25e-3, 12);
  });
});

describe('inputs and outputs are checked before the first epoch', () => {
  test('a results CSV of another tool, an empty validation list, an unwritable folder, a seed past 32 bits', async () => {
    const out = tmp();
    fs.writeFileSync(path.join(out, 'results.csv'), 'epoch,accuracy\n1,0.5\n');
    await expect(train({ ...CFG, out })).rejects.toThrow(/results file .*results\.csv has header 'epoch,accuracy'; expected 'train_loss,[\s\S]*--new-dataframe 1[\s\S]*--out DIR/);
    expect(fs.existsSync(path.join(out, 'artifacts', RUN))).toBe(false);

    const split = path.join(tmp(), 'split.json');
    fs.writeFileSync(split, JSON.stringify({ train: ['synth-0000', 'synth-0001'], valid: [], test: [] }));
    await expect(train({ ...CFG, out: tmp(), split })).rejects.toThrow(/--split-file .*split\.json leaves no images to validate on .*"valid" list/);

    const file = path.join(tmp(), 'a-file');
    fs.writeFileSync(file, '');
    const t0 = Date.now();
    await expect(train({ ...CFG, out: path.join(file, 'out') })).rejects.toThrow(/results folder .*a-file\/out is not writable/);
    expect(Date.now() - t0).toBeLessThan(5000);

    await expect(train({ ...CFG, out: tmp(), seed: 2 ** 32 })).rejects.toThrow(/--seed 4294967296: expected a whole number from 0 to 4294967295/);
  });

  test('a disk without room for the run\'s checkpoints is found before training', async () => {
    const out = tmp();
    // the file system reports 64 KiB free; this network's last.ckpt alone needs more
    const spy = jest.spyOn(nodeFs, 'statfsSync').mockReturnValue({ bavail: 16, bsize: 4096 } as fs.StatsFs);
    try {
      await expect(train({ ...CFG, out, width: 0.25 })).rejects.toThrow(/artifacts has 64 KiB free, but this run's checkpoints need about \d+ [KM]iB .*Free space, or write elsewhere with --out/);
    } finally {
      spy.mockRestore();
    }
    expect(fs.existsSync(path.join(out, 'artifacts', 'UNet_bce_loss_s32_w0.25_seed5'))).toBe(false);
  });
});
