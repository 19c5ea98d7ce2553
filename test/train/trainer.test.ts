import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { train } from '../../src/train/trainer';
import { readResults } from '../../src/report/results';
import { loadCheckpoint } from '../../src/checkpoint/checkpoint';
import { nchwcBlockSize } from '../../src/onnx/cpu';

const quiet = { log: () => undefined, progress: false } as const;

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-train-'));
}

describe('train', () => {
  test('trains on synthetic data: results rows, checkpoints and a prediction grid', async () => {
    const out = tmp();
    const r = await train({ model: 1, loss: 9, data: 'synthetic:24', epochs: 2, batchSize: 8, imageSize: 32, width: 1 / 16, seed: 1, out, graphsDir: path.join(out, 'graphs'), cacheDir: null, ...quiet });
    expect(r.history).toHaveLength(2);
    const rows = readResults(r.resultsFile);
    expect(rows.map((x) => x.epoch)).toEqual([1, 2]);
    expect(rows[0].model).toBe('UNet');
    expect(rows[0].criterion).toBe('tversky_loss_alpha_0.50');
    expect(fs.existsSync(r.lastCheckpoint)).toBe(true);
    expect(r.bestCheckpoint && fs.existsSync(r.bestCheckpoint)).toBe(true);
    expect(r.grid && fs.existsSync(r.grid)).toBe(true);
    const last = loadCheckpoint(r.lastCheckpoint);
    expect(last.optimizer!.step).toBe(2 * Math.ceil(18 / 8));
    expect(Number((last.params['conv1.1.num_batches_tracked'].data as BigInt64Array)[0])).toBe(last.optimizer!.step);
  });

  test('an interrupted run resumed from last.ckpt ends with the same weights and rows as one uninterrupted run', async () => {
    const cfg = { model: 3, loss: 5, data: 'synthetic:20', epochs: 3, batchSize: 6, imageSize: 32, width: 1 / 16, seed: 4, cacheDir: null, ...quiet };
    const a = tmp();
    const whole = await train({ ...cfg, out: a, graphsDir: path.join(a, 'graphs') });
    const b = tmp();
    await train({ ...cfg, out: b, graphsDir: path.join(b, 'graphs'), stopAfterEpochs: 1 });
    const resumed = await train({ ...cfg, out: b, graphsDir: path.join(b, 'graphs'), resume: true });
    expect(resumed.resumedFrom).toBe(1);
    const wa = loadCheckpoint(whole.lastCheckpoint).params;
    const wb = loadCheckpoint(resumed.lastCheckpoint).params;
    for (const k of Object.keys(wa)) expect(Array.from(wb[k].data as Float32Array)).toEqual(Array.from(wa[k].data as Float32Array));
    const strip = (rows: ReturnType<typeof readResults>) => rows.map(({ seconds, images_per_s, ...rest }) => rest);
    expect(strip(readResults(resumed.resultsFile))).toEqual(strip(readResults(whole.resultsFile)));
  });
});

describe('train with the NCHWc lowering', () => {
  test('trains to the same losses as the standard-op graphs, from graphs cached apart', async () => {
    const out = tmp();
    const cfg = { model: 3, loss: 9, data: 'synthetic:20', epochs: 2, batchSize: 6, imageSize: 32, width: 1 / 4, seed: 2, cacheDir: null, graphsDir: path.join(out, 'graphs'), ...quiet };
    const std = await train({ ...cfg, nchwc: false, out: path.join(out, 'std') });
    const block = await nchwcBlockSize();
    if (!block) {
      // builds without the com.microsoft.nchwc kernels: the flag must say so, not fall back silently
      await expect(train({ ...cfg, out: path.join(out, 'nchwc'), nchwc: true })).rejects.toThrow(/--nchwc: .*no com\.microsoft\.nchwc kernels/);
      return;
    }
    const nc = await train({ ...cfg, out: path.join(out, 'nchwc'), nchwc: true });
    expect(fs.readdirSync(cfg.graphsDir).sort()).toEqual(['UNet_dilate_tversky_loss_alpha_0.50_s32_w0.25_cpu', `UNet_dilate_tversky_loss_alpha_0.50_s32_w0.25_cpu-nchwc${block}`]);
    const a = readResults(std.resultsFile);
    const b = readResults(nc.resultsFile);
    for (let i = 0; i < a.length; i++) {
      expect(b[i].train_loss).toBeCloseTo(a[i].train_loss, 4);
      expect(b[i].valid_loss).toBeCloseTo(a[i].valid_loss, 4);
    }
    // (weights are not compared element-wise: AdamW's first steps move each weight by about
    // lr * sign(g), so float-level differences flip the sign of near-zero gradients)
  });

  test('is refused on a GPU provider, with the reason', async () => {
    const out = tmp();
    await expect(
      train({ model: 1, loss: 1, data: 'synthetic:12', epochs: 1, batchSize: 4, imageSize: 32, width: 1 / 16, out, cacheDir: null, device: 'webgpu', nchwc: true, ...quiet }),
    ).rejects.toThrow(/--nchwc with --device webgpu: .*CPU-only/);
  });
});

describe('train on bad numbers', () => {
  test('a loss that turns NaN stops the run with a message and keeps the last good checkpoint', async () => {
    const out = tmp();
    const cfg = { model: 1, loss: 1, data: 'synthetic:24', batchSize: 6, imageSize: 32, width: 1 / 16, seed: 3, out, graphsDir: path.join(out, 'graphs'), cacheDir: null, ...quiet };
    const first = await train({ ...cfg, epochs: 1 });
    const before = fs.readFileSync(first.lastCheckpoint);
    // An absurd learning rate drives the weights to infinity within a few steps.
    await expect(train({ ...cfg, epochs: 3, lr: 1e38, resume: true, allowChange: ['lr'] })).rejects.toThrow(/loss is (NaN|Infinity|-Infinity); the run stopped and saved nothing of this epoch/);
    expect(fs.readFileSync(first.lastCheckpoint).equals(before)).toBe(true);
  });
});
