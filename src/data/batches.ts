/**
 * BatchLoader: turns dataset indices into normalised (and, for training, augmented) batches.
 *
 * Determinism: the order of epoch e is a permutation drawn from Rng.derive(seed, STREAM.shuffle, e),
 * batch b holds order[b*B .. b*B+B-1], and each sample's augmentation depends only on
 * (seed, e, dataset index) (see collate.ts); the c-th repeat of an index in `indices`
 * (oversampling) is augmented as index + c * N (N = dataset size), so copies differ. A batch is thus a pure function of (seed, e, b), so
 * worker timing, worker count and resuming mid-epoch (`epoch(e, fromBatch)`) cannot change it.
 *
 * Worker path: batches are built in worker_threads running the compiled `worker.js` next to this
 * file, with the dataset shared through SharedArrayBuffer (zero-copy), up to `prefetch` batches
 * ahead of the consumer. When no compiled worker exists (running the .ts sources, e.g. under
 * ts-jest, which cannot load .ts in a worker), or with `workers: 0`, batches are built in this
 * thread by the same `collate` function, hence identical bytes; only the overlap is lost.
 */
import { existsSync } from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { CACHED_AUGMENT, type AugmentConfig } from './augment';
import { collate, type CollateJob, type SampleStore } from './collate';
import { Rng, STREAM } from './rng';
import type { WorkerReply, WorkerRequest } from './worker';

export interface Batch {
  /** Dataset ids and indices of the samples, in batch order. */
  ids: string[];
  indices: number[];
  /** count x 3 x S x S, ImageNet-normalised float32. */
  image: Float32Array;
  /** count x 1 x S x S, 0/1 float32. */
  mask: Float32Array;
  count: number;
  epoch: number;
  /** Position of this batch in its epoch. */
  batch: number;
}

/** What BatchLoader needs of a Dataset (see datasets.ts). */
export interface BatchSource extends SampleStore {
  ids: string[];
}

export interface BatchLoaderOptions {
  batchSize: number;
  /** Seed of shuffling and augmentation. Default 0. */
  seed?: number;
  /** 'train': shuffle + augmentation (default). 'eval': dataset order, normalisation only. */
  mode?: 'train' | 'eval';
  /**
   * Overrides of the mode's defaults. `augment`: a config (e.g. augmentPreset('study'), or
   * AUGMENT_PRESETS.plain), null or false for none, true for AUGMENT_PRESETS.cached. A config with
   * cropFrom 'source' needs a dataset loaded with keepSource.
   */
  shuffle?: boolean;
  augment?: boolean | AugmentConfig | null;
  /** Drop a last, incomplete batch (e.g. to keep BatchNorm away from a batch of 1). Default false. */
  dropLast?: boolean;
  /** Worker threads; 0 builds batches in this thread. Default 1. */
  workers?: number;
  /** Batches requested ahead of the consumer. Default 2 per worker. */
  prefetch?: number;
  /**
   * Compiled worker script. Default: `worker.js` beside this module when running compiled JS;
   * null forces the in-thread path.
   */
  workerScript?: string | null;
}

/** The worker script shipped beside this module, if this module is compiled JS (dist/data/). */
export function defaultWorkerScript(): string | null {
  if (!__filename.endsWith('.js')) return null;
  const p = path.join(__dirname, 'worker.js');
  return existsSync(p) ? p : null;
}

/** A view backed by a SharedArrayBuffer (copied once if it is not), so workers share it. */
function shared(a: Uint8Array): Uint8Array {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const s = new Uint8Array(new SharedArrayBuffer(a.byteLength));
  s.set(a);
  return s;
}

/** A clear error unless the dataset holds every sample at source resolution, for `config`. */
function checkSourceRes(dataset: BatchSource, config: AugmentConfig): void {
  const src = dataset.sourceRes;
  const n = dataset.ids.length;
  if (!src) {
    throw new Error(
      `BatchLoader: the augmentation '${config.name}' crops from the images at source resolution, but the dataset ` +
        'was loaded without them. Load it with loadDataset(spec, { imageSize, keepSource: true }) ' +
        "(needsSourceRes(config) says when), or use the 'cached' preset.",
    );
  }
  const bad = src.sizes.findIndex(([w, h], i) => src.images[i]?.length !== w * h * 3 || src.masks[i]?.length !== w * h);
  if (src.sizes.length !== n || bad >= 0) {
    throw new Error(`BatchLoader: dataset.sourceRes does not match its ${n} samples (sample ${bad}); pass a Dataset from loadDataset.`);
  }
}

interface Pending {
  resolve: (r: { image: Float32Array; mask: Float32Array }) => void;
  reject: (e: Error) => void;
}

/** One worker thread and its outstanding requests; keeps the process alive only while busy. */
class WorkerSlot {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | null = null;

  constructor(script: string, store: SampleStore) {
    const data: SampleStore = { images: store.images, masks: store.masks, size: store.size, sourceRes: store.sourceRes ?? null };
    this.worker = new Worker(script, { workerData: data });
    this.worker.unref();
    this.worker.on('message', (msg: WorkerReply) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.settled(msg.id);
      if ('error' in msg) p.reject(new Error(`BatchLoader worker (${script}) failed: ${msg.error}`));
      else p.resolve({ image: msg.image, mask: msg.mask });
    });
    this.worker.on('error', (e) => this.fail(new Error(`BatchLoader worker (${script}) crashed: ${e.message}`)));
    this.worker.on('exit', (code) => this.fail(new Error(`BatchLoader worker (${script}) exited with code ${code}`)));
  }

  run(job: CollateJob): Promise<{ image: Float32Array; mask: Float32Array }> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      const req: WorkerRequest = { id, job };
      this.worker.postMessage(req);
    });
  }

  private settled(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }

  private fail(e: Error): void {
    if (!this.failure) this.failure = e;
    for (const [id, p] of [...this.pending]) {
      this.settled(id);
      p.reject(this.failure);
    }
  }

  async terminate(): Promise<void> {
    this.fail(new Error('BatchLoader was closed'));
    await this.worker.terminate();
  }
}

export class BatchLoader {
  readonly batchSize: number;
  readonly seed: number;
  readonly shuffle: boolean;
  readonly augment: AugmentConfig | null;
  readonly dropLast: boolean;
  readonly numBatches: number;
  /** True when batches are built in worker threads, false for the in-thread path. */
  readonly usesWorkers: boolean;
  private readonly source: BatchSource;
  private readonly indices: readonly number[];
  /** Augmentation key of each position of `indices` (see the file comment). */
  private readonly keys: readonly number[];
  private readonly prefetch: number;
  private readonly slots: WorkerSlot[] = [];
  private orderCache: { epoch: number; order: number[]; keys: number[] } | null = null;
  private closed = false;

  constructor(dataset: BatchSource, indices: readonly number[], opts: BatchLoaderOptions) {
    const S = dataset.size;
    const n = dataset.ids.length;
    if (dataset.images.length !== n * S * S * 3 || dataset.masks.length !== n * S * S) {
      throw new Error(
        `BatchLoader: dataset arrays do not match ${n} ids at size ${S} (images ${dataset.images.length}, ` +
          `expected ${n * S * S * 3}; masks ${dataset.masks.length}, expected ${n * S * S}); pass a Dataset from loadDataset.`,
      );
    }
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) {
      throw new Error(`BatchLoader: batchSize must be a positive integer, found ${opts.batchSize}`);
    }
    const bad = indices.filter((i) => !Number.isInteger(i) || i < 0 || i >= n);
    if (bad.length > 0) {
      throw new Error(`BatchLoader: indices ${bad.slice(0, 10).join(', ')} are outside the dataset (0..${n - 1})`);
    }
    const mode = opts.mode ?? 'train';
    this.batchSize = opts.batchSize;
    this.seed = opts.seed ?? 0;
    this.shuffle = opts.shuffle ?? mode === 'train';
    const aug = opts.augment === undefined ? mode === 'train' : opts.augment;
    this.augment = aug === true ? CACHED_AUGMENT : aug === false || aug === null ? null : aug;
    if (this.augment?.cropFrom === 'source') checkSourceRes(dataset, this.augment);
    this.dropLast = opts.dropLast ?? false;
    this.indices = [...indices];
    const seen = new Map<number, number>();
    this.keys = indices.map((i) => {
      const copy = seen.get(i) ?? 0;
      seen.set(i, copy + 1);
      return i + copy * n;
    });
    this.numBatches = this.dropLast ? Math.floor(indices.length / this.batchSize) : Math.ceil(indices.length / this.batchSize);

    const script = opts.workerScript === undefined ? defaultWorkerScript() : opts.workerScript;
    const workers = opts.workers ?? 1;
    this.usesWorkers = script !== null && workers > 0;
    const src = this.augment?.cropFrom === 'source' ? dataset.sourceRes : null;
    this.source = this.usesWorkers
      ? {
          ids: dataset.ids,
          size: S,
          images: shared(dataset.images),
          masks: shared(dataset.masks),
          sourceRes: src ? { sizes: src.sizes, images: src.images.map(shared), masks: src.masks.map(shared) } : null,
        }
      : { ids: dataset.ids, size: S, images: dataset.images, masks: dataset.masks, sourceRes: src ?? null };
    if (this.usesWorkers) {
      for (let w = 0; w < workers; w++) this.slots.push(new WorkerSlot(script!, this.source));
    }
    this.prefetch = this.usesWorkers ? Math.max(1, opts.prefetch ?? 2 * workers) : 0;
  }

  /** Dataset indices of epoch `epoch` in visiting order. */
  order(epoch: number): number[] {
    return this.ordered(epoch).order;
  }

  /** The order of epoch `epoch` and each position's augmentation key (a permutation of positions, so
   * indices without repeats visit in the order a shuffle of the indices themselves would give). */
  private ordered(epoch: number): { order: number[]; keys: number[] } {
    if (this.orderCache?.epoch === epoch) return this.orderCache;
    const pos = this.indices.map((_, k) => k);
    if (this.shuffle) Rng.derive(this.seed, STREAM.shuffle, epoch).shuffleInPlace(pos);
    this.orderCache = { epoch, order: pos.map((k) => this.indices[k]), keys: pos.map((k) => this.keys[k]) };
    return this.orderCache;
  }

  /** Builds batch `b` of epoch `epoch` (random access, e.g. to resume). */
  batch(epoch: number, b: number): Promise<Batch> {
    if (this.closed) return Promise.reject(new Error('BatchLoader: batch() called after close()'));
    if (!Number.isInteger(b) || b < 0 || b >= this.numBatches) {
      return Promise.reject(new Error(`BatchLoader: batch ${b} is outside 0..${this.numBatches - 1}`));
    }
    const o = this.ordered(epoch);
    const indices = o.order.slice(b * this.batchSize, (b + 1) * this.batchSize);
    const keys = o.keys.slice(b * this.batchSize, (b + 1) * this.batchSize);
    const job: CollateJob = { indices, epoch, seed: this.seed, augment: this.augment };
    if (keys.some((k, j) => k !== indices[j])) job.keys = keys;
    const wrap = (r: { image: Float32Array; mask: Float32Array }): Batch => ({
      ids: indices.map((i) => this.source.ids[i]),
      indices,
      image: r.image,
      mask: r.mask,
      count: indices.length,
      epoch,
      batch: b,
    });
    const where = (e: unknown): Error =>
      new Error(`BatchLoader: epoch ${epoch} batch ${b} (samples ${indices.join(', ')}): ${(e as Error).message}`);
    if (!this.usesWorkers) {
      try {
        return Promise.resolve(wrap(collate(this.source, job)));
      } catch (e) {
        return Promise.reject(where(e));
      }
    }
    return this.slots[b % this.slots.length].run(job).then(wrap, (e) => {
      throw where(e);
    });
  }

  /**
   * The batches of one epoch, from `fromBatch` on, keeping `prefetch` batches in flight in the
   * workers so that the consumer finds the next one ready.
   */
  async *epoch(epoch: number, fromBatch = 0): AsyncGenerator<Batch, void, undefined> {
    const inflight = new Map<number, Promise<Batch>>();
    let next = fromBatch;
    for (let b = fromBatch; b < this.numBatches; b++) {
      while (next < this.numBatches && next <= b + this.prefetch) {
        const p = this.batch(epoch, next);
        p.catch(() => undefined); // awaited below, in order; avoids an unhandled rejection meanwhile
        inflight.set(next++, p);
      }
      const p = inflight.get(b)!;
      inflight.delete(b);
      yield await p;
    }
  }

  /** Stops the workers. The loader cannot be used afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.terminate()));
    this.slots.length = 0;
  }
}
