import * as path from 'path';
import { STUDY_AUGMENT, toTensor } from '../../src/data/augment';
import { BatchLoader, defaultWorkerScript, type Batch } from '../../src/data/batches';
import { loadDataset, type Dataset } from '../../src/data/datasets';
import { compileDataModule } from './helpers/compile';
import { removeDir } from './helpers/fixtures';

const S = 16;
let ds: Dataset;
let compiled: string;
let workerScript: string;
const open: BatchLoader[] = [];

function loader(indices: number[], opts: ConstructorParameters<typeof BatchLoader>[2]): BatchLoader {
  const l = new BatchLoader(ds, indices, opts);
  open.push(l);
  return l;
}

async function all(l: BatchLoader, epoch: number, from = 0): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of l.epoch(epoch, from)) out.push(b);
  return out;
}

function same(a: Batch[], b: Batch[]): void {
  expect(a.map((x) => x.ids)).toEqual(b.map((x) => x.ids));
  for (let i = 0; i < a.length; i++) {
    expect(Buffer.from(a[i]!.image.buffer).equals(Buffer.from(b[i]!.image.buffer))).toBe(true);
    expect(Buffer.from(a[i]!.mask.buffer).equals(Buffer.from(b[i]!.mask.buffer))).toBe(true);
  }
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

beforeAll(async () => {
  ds = await loadDataset('synthetic:10', { imageSize: S });
  compiled = compileDataModule();
  workerScript = path.join(compiled, 'data', 'worker.js');
});
afterAll(async () => {
  await Promise.all(open.map((l) => l.close()));
  removeDir(compiled);
});

describe('BatchLoader', () => {
  it('yields batches of B x 3 x S x S images and B x S x S 0/1 masks, the last one smaller', async () => {
    const l = loader(range(10), { batchSize: 4, seed: 1, workers: 0 });
    expect(l.numBatches).toBe(3);
    const batches = await all(l, 0);
    expect(batches.map((b) => b.count)).toEqual([4, 4, 2]);
    expect(batches.map((b) => b.image.length)).toEqual([4 * 3 * S * S, 4 * 3 * S * S, 2 * 3 * S * S]);
    expect(batches.map((b) => b.mask.length)).toEqual([4 * S * S, 4 * S * S, 2 * S * S]);
    expect(batches.flatMap((b) => b.ids).sort()).toEqual([...ds.ids].sort());
    expect(batches.every((b) => b.mask.every((v) => v === 0 || v === 1))).toBe(true);
    const dropped = loader(range(10), { batchSize: 4, dropLast: true, workers: 0 });
    expect((await all(dropped, 0)).map((b) => b.count)).toEqual([4, 4]);
  });

  it('falls back to building batches in this thread when running from .ts sources', () => {
    expect(defaultWorkerScript()).toBeNull();
    expect(loader(range(10), { batchSize: 4 }).usesWorkers).toBe(false);
  });

  it('is deterministic in (seed, epoch) and reshuffles and re-augments each epoch', async () => {
    const a = await all(loader(range(10), { batchSize: 4, seed: 3, workers: 0 }), 5);
    const b = await all(loader(range(10), { batchSize: 4, seed: 3, workers: 0 }), 5);
    same(a, b);
    const next = await all(loader(range(10), { batchSize: 4, seed: 3, workers: 0 }), 6);
    expect(next.map((x) => x.ids)).not.toEqual(a.map((x) => x.ids));
  });

  it('gives each sample the same augmentation whatever the batch size and position', async () => {
    const big = (await all(loader(range(10), { batchSize: 10, seed: 3, workers: 0 }), 2))[0]!;
    const small = await all(loader(range(10), { batchSize: 3, seed: 3, workers: 0 }), 2);
    const plane = 3 * S * S;
    for (const b of small) {
      b.ids.forEach((id, k) => {
        const j = big.ids.indexOf(id);
        expect(Buffer.from(b.image.subarray(k * plane, (k + 1) * plane)).equals(Buffer.from(big.image.subarray(j * plane, (j + 1) * plane)))).toBe(true);
      });
    }
  });

  it('resumes mid-epoch with the same batches', async () => {
    const l = loader(range(10), { batchSize: 3, seed: 4, workers: 0 });
    const whole = await all(l, 1);
    same(await all(l, 1, 2), whole.slice(2));
  });

  it('builds identical batches in worker threads and in this thread', async () => {
    const inThread = loader(range(10), { batchSize: 4, seed: 9, workers: 0 });
    const oneWorker = loader(range(10), { batchSize: 4, seed: 9, workerScript });
    const twoWorkers = loader(range(10), { batchSize: 4, seed: 9, workerScript, workers: 2, prefetch: 3 });
    expect([inThread.usesWorkers, oneWorker.usesWorkers, twoWorkers.usesWorkers]).toEqual([false, true, true]);
    const ref = await all(inThread, 3);
    same(await all(oneWorker, 3), ref);
    same(await all(twoWorkers, 3), ref);
    same(await all(oneWorker, 4), await all(inThread, 4));
    const evalRef = await all(loader([7, 2, 5], { batchSize: 2, mode: 'eval', workers: 0 }), 0);
    same(await all(loader([7, 2, 5], { batchSize: 2, mode: 'eval', workerScript }), 0), evalRef);
  });

  it('reports a worker failure on the batch that failed', async () => {
    const l = loader(range(10), { batchSize: 4, seed: 9, workerScript, augment: { ...STUDY_AUGMENT, blurKernel: [-1, -1] } });
    await expect(all(l, 0)).rejects.toThrow(/^BatchLoader: epoch 0 batch 0 \(samples [\d, ]+\): BatchLoader worker \(.*worker\.js\) failed: /);
    const inThread = loader(range(10), { batchSize: 4, workers: 0, augment: { ...STUDY_AUGMENT, blurKernel: [-1, -1] } });
    await expect(all(inThread, 0)).rejects.toThrow(/^BatchLoader: epoch 0 batch 0 \(samples [\d, ]+\): /);
  });

  it('in eval mode keeps the given order and only normalises', async () => {
    const order = [7, 2, 5, 0, 9];
    const l = loader(order, { batchSize: 2, mode: 'eval', seed: 1, workers: 0 });
    const batches = await all(l, 3);
    expect(batches.flatMap((b) => b.indices)).toEqual(order);
    expect(batches.flatMap((b) => b.ids)).toEqual(order.map((i) => ds.ids[i]));
    const plane = S * S;
    const first = batches[0]!;
    const image = { data: ds.images.subarray(7 * plane * 3, 8 * plane * 3), width: S, height: S, channels: 3 };
    expect(Array.from(first.image.subarray(0, 3 * plane))).toEqual(Array.from(toTensor(image)));
    expect(Array.from(first.mask.subarray(0, plane))).toEqual(Array.from(ds.masks.subarray(7 * plane, 8 * plane)));
  });
});
