import { createHash } from 'crypto';
import * as path from 'path';
import { AUGMENT_PRESETS, augmentPreset, CACHED_AUGMENT, GEOMETRY_ONLY } from '../../src/data/augment';
import { toTensor } from '../../src/data/tensor';
import { BatchLoader, defaultWorkerScript, type Batch, type BatchSource } from '../../src/data/batches';
import { loadDataset, type Dataset } from '../../src/data/datasets';
import { generateSynthetic } from '../../src/data/synthetic';
import { compileDataModule } from './helpers/compile';
import { removeDir } from './helpers/fixtures';

const S = 16;
let ds: Dataset;
let compiled: string;
let workerScript: string;
const open: BatchLoader[] = [];

function loader(indices: number[], opts: ConstructorParameters<typeof BatchLoader>[2], source: BatchSource = ds): BatchLoader {
  const l = new BatchLoader(source, indices, opts);
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

  it('augments each copy of a repeated index differently (oversampling), in workers and in this thread alike', async () => {
    // index 3 three times: its copies must differ from each other, and the first copy stays what index 3 alone gives
    const idx = [0, 1, 2, 3, 3, 3, 4];
    const inThread = loader(idx, { batchSize: 7, seed: 5, workers: 0, shuffle: false, augment: CACHED_AUGMENT });
    const [b] = await all(inThread, 1);
    const plane = 3 * S * S;
    const img = (k: number) => Buffer.from(b!.image.buffer, k * plane * 4, plane * 4);
    expect(b!.indices).toEqual(idx);
    expect(img(3).equals(img(4)) || img(4).equals(img(5)) || img(3).equals(img(5))).toBe(false);
    const [alone] = await all(loader([3], { batchSize: 1, seed: 5, workers: 0, shuffle: false, augment: CACHED_AUGMENT }), 1);
    expect(Buffer.from(alone!.image.buffer).equals(img(3))).toBe(true);
    same(await all(loader(idx, { batchSize: 3, seed: 5, workerScript, shuffle: false, augment: CACHED_AUGMENT }), 1), await all(loader(idx, { batchSize: 3, seed: 5, workers: 0, shuffle: false, augment: CACHED_AUGMENT }), 1));
  });

  it('reports a worker failure on the batch that failed', async () => {
    const l = loader(range(10), { batchSize: 4, seed: 9, workerScript, augment: { ...CACHED_AUGMENT, blurKernel: [-1, -1] } });
    await expect(all(l, 0)).rejects.toThrow(/^BatchLoader: epoch 0 batch 0 \(samples [\d, ]+\): BatchLoader worker \(.*worker\.js\) failed: /);
    const inThread = loader(range(10), { batchSize: 4, workers: 0, augment: { ...CACHED_AUGMENT, blurKernel: [-1, -1] } });
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

  it('with the cached preset builds the batches of melseg 0.1 byte for byte (sha256 recorded from its code)', async () => {
    const small = await loadDataset('synthetic:12', { imageSize: 32 });
    const digest = async (augment: ConstructorParameters<typeof BatchLoader>[2]['augment'], workers: number): Promise<string> => {
      const l = loader(range(12), { batchSize: 5, seed: 7, augment, workers, workerScript: workers ? workerScript : null }, small);
      const h = createHash('sha256');
      for (const e of [0, 1, 2]) {
        for (const b of await all(l, e)) {
          h.update(b.ids.join(','));
          h.update(new Uint8Array(b.image.buffer));
          h.update(new Uint8Array(b.mask.buffer));
        }
      }
      return h.digest('hex');
    };
    // Recorded at commit eee7af7 (melseg 0.1, before the presets) with STUDY_AUGMENT (now CACHED_AUGMENT) and GEOMETRY_ONLY.
    const STUDY_V01 = 'eb262d9db0b5743bf05a5ccd8f98b3940973a014dcb78e4a8791e854801ab698';
    const GEOMETRY_V01 = 'f20583fb600002358c478dd4cd79913deae49bfb3702e5897677a2e5d5ee68df';
    expect(await digest(AUGMENT_PRESETS.cached, 0)).toBe(STUDY_V01);
    expect(await digest(true, 0)).toBe(STUDY_V01);
    expect(await digest(augmentPreset('cached'), 2)).toBe(STUDY_V01);
    expect(await digest(GEOMETRY_ONLY, 0)).toBe(GEOMETRY_V01);
  });

  it('with augment none (null) only shuffles and normalises', async () => {
    const l = loader(range(10), { batchSize: 10, seed: 2, augment: AUGMENT_PRESETS.none, workers: 0 });
    const [b] = await all(l, 0);
    const plane = S * S;
    b!.indices.forEach((i, k) => {
      const image = { data: ds.images.subarray(i * plane * 3, (i + 1) * plane * 3), width: S, height: S, channels: 3 };
      expect(Array.from(b!.image.subarray(k * 3 * plane, (k + 1) * 3 * plane))).toEqual(Array.from(toTensor(image)));
    });
    expect(b!.indices).not.toEqual(range(10));
  });
});

describe('BatchLoader with source-resolution presets', () => {
  /** Ten samples whose sources are 48 x 36 (the top of 48 x 48 synthetic images). */
  let src: BatchSource;
  beforeAll(() => {
    const big = generateSynthetic(10, 48);
    src = {
      ...ds,
      sourceRes: {
        sizes: ds.ids.map(() => [48, 36]),
        images: ds.ids.map((_, i) => big.images.subarray(i * 48 * 48 * 3, i * 48 * 48 * 3 + 48 * 36 * 3)),
        masks: ds.ids.map((_, i) => big.masks.subarray(i * 48 * 48, i * 48 * 48 + 48 * 36)),
      },
    };
  });

  it('build identical batches in this thread and in one or two workers, as pure functions of (seed, epoch, batch)', async () => {
    for (const augment of [AUGMENT_PRESETS.study, AUGMENT_PRESETS.plain]) {
      const inThread = loader(range(10), { batchSize: 4, seed: 5, augment, workers: 0 }, src);
      const oneWorker = loader(range(10), { batchSize: 4, seed: 5, augment, workerScript }, src);
      const twoWorkers = loader(range(10), { batchSize: 4, seed: 5, augment, workerScript, workers: 2, prefetch: 3 }, src);
      const ref = await all(inThread, 2);
      same(await all(oneWorker, 2), ref);
      same(await all(twoWorkers, 2), ref);
      same(await all(twoWorkers, 2, 1), ref.slice(1)); // resumed mid-epoch
      same(await all(loader(range(10), { batchSize: 4, seed: 5, augment, workers: 0 }, src), 2), ref);
      expect(ref.every((b) => b.mask.every((v) => v === 0 || v === 1))).toBe(true);
      const next = await all(inThread, 3);
      expect(Buffer.from(next[0]!.image.buffer).equals(Buffer.from(ref[0]!.image.buffer))).toBe(false);
    }
  });

  it('differ from the cached preset: they crop from the 48 x 36 sources', async () => {
    const study = (await all(loader([0], { batchSize: 1, seed: 1, augment: AUGMENT_PRESETS.study, workers: 0 }, src), 0))[0]!;
    const cached = (await all(loader([0], { batchSize: 1, seed: 1, augment: AUGMENT_PRESETS.cached, workers: 0 }, src), 0))[0]!;
    expect([study.image.length, study.mask.length]).toEqual([3 * S * S, S * S]);
    expect(Buffer.from(study.image.buffer).equals(Buffer.from(cached.image.buffer))).toBe(false);
  });

  it('explain that a dataset loaded without source resolution cannot feed them', () => {
    expect(() => new BatchLoader(ds, range(10), { batchSize: 4, augment: AUGMENT_PRESETS.study, workers: 0 })).toThrow(
      "BatchLoader: the augmentation 'study' crops from the images at source resolution, but the dataset was loaded without them. " +
        'Load it with loadDataset(spec, { imageSize, keepSource: true })',
    );
  });
});
