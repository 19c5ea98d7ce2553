/**
 * melseg's training loop. One run = one model x loss on one dataset split, in one run folder:
 *
 *   prepare     settings from the recipe (recipe.ts), checks of every input and output
 *   open        the run folder (run-folder.ts): lock, run.json, refuse to clobber another run
 *   state       fresh seeded weights, or last.ckpt when resuming (also mid-epoch)
 *   data        load (decoded once, cached), split, check, batch with augmentation workers
 *   graphs      the fused train-step graph and the eval graph, built once and cached
 *   per epoch   set lr -> train steps (forward/backward/AdamW in one graph run) -> validate ->
 *               schedule -> checkpoint best (with a prediction grid) and last -> results rows
 *               -> early stop?
 *   end         history.json, optionally score best.ckpt on the test split
 *
 * Every epoch's data order and augmentation are pure functions of (seed, epoch, sample), the optimizer
 * and schedule state live in last.ckpt, and the results rows are rewritten from the saved history, so a
 * run stopped anywhere (kill -9, Ctrl-C, SIGTERM) and resumed ends with the same weights and rows. A
 * signal stops the run after the current batch and saves last.ckpt there (mid-epoch). Nothing non-finite
 * is ever saved: a diverging run stops, naming the epoch, step and tensor, keeping the last good files.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { BatchLoader, Dataset, GEOMETRY_ONLY, STUDY_AUGMENT, indicesOf, loadDataset, loadSplit, makeSplit, saveSplit, Split } from '../data';
import type { AugmentConfig } from '../data';
import { countParameters, GRAPH_FILES, parameterSpecs, resolveConfig, ResolvedConfig } from '../graphs';
import { forward } from '../models';
import { Graph } from '../onnx/graph';
import * as N from '../onnx/names';
import { cpuFallbacks } from '../onnx/providers';
import { nchwcBlockSize } from '../onnx/run';
import { makeSchedule, restoreSchedule, Schedule, ScheduleState } from '../optim/schedule';
import type { PlateauState } from '../optim/plateau';
import { predictionGrid, ResultRow, startFresh, upsertRunRows } from '../report';
import { assertWritableDir, copyFileAtomic, writeFileAtomic } from '../util/atomic';
import { dataCacheDir, graphCacheDir } from '../util/paths';
import { createProgress } from '../util/progress';
import { loadCheckpoint, saveCheckpoint } from './checkpoint';
import { checkResultsFile } from './checks';
import { Device, openSession } from './device';
import { BatchDump } from './dump';
import { ensureGraphs } from './graphcache';
import { describeSettings, resolveSettings, RunSettings, SettingsInput } from './recipe';
import { openRun, OpenedRun, RunPaths } from './run-folder';
import { ModelState } from './state';
import { evaluateSamples, SplitEvaluation } from './validate';

/** Where and how a run executes: none of this changes what it computes (except float rounding by device). */
export interface RuntimeOptions {
  /** Root for this run's outputs: <out>/artifacts/<run>/ and <out>/results.csv. Default: artifacts/ and results/. */
  out?: string;
  /** Results CSV (default results/results.csv, or <out>/results.csv). */
  resultsFile?: string;
  /** Run folder name (default <Model>_<loss>_s<S>_w<W>_seed<seed>). */
  runId?: string;
  /** Continue the run in the run folder from its last.ckpt. */
  resume?: boolean;
  /** Move an existing run in the run folder aside and start anew. */
  overwrite?: boolean;
  /** Settings a resumed run may take over from the flags (recipe.ts CHANGEABLE). */
  allowChange?: readonly (keyof RunSettings)[];
  /** The study's --new_dataframe 1: move the results CSV aside (kept as .bak) and start a fresh one. */
  newDataframe?: boolean;
  /** The study's --save_model: write best.ckpt and prediction grids (last.ckpt is always kept). */
  saveModel?: boolean;
  /** The study's --evaluate: score best.ckpt on the test split at the end. */
  evaluate?: boolean;
  device?: Device;
  /** CPU only: narrow convolutions on onnxruntime's blocked NCHWc kernels (same function, other kernels). */
  nchwc?: boolean;
  /** Augmentation worker threads (default 1; 0 = in this thread). */
  workers?: number;
  /** Decoded-dataset cache folder (default the user cache, util/paths.ts; null: none). */
  cacheDir?: string | null;
  /** Compiled-graph cache folder (default the user cache). */
  graphsDir?: string;
  /** Write every batch, the validation set and the initial weights there (dump.ts). */
  dumpBatches?: string;
  /** Stops the run after the current batch, saving last.ckpt there. */
  signal?: AbortSignal;
  /** Tests: stop after this many epochs of this invocation (an interruption between epochs). */
  stopAfterEpochs?: number;
  log?: (line: string) => void;
  /** Called after each finished epoch (its checkpoint and CSV rows are written by then). */
  onEpoch?: (rec: EpochRecord, epochs: number) => void;
  /** Progress bars (default true); false = none. */
  progress?: boolean;
}

export type TrainOptions = SettingsInput & RuntimeOptions;

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  validLoss: number;
  iou: number;
  lr: number;
  seconds: number;
  imagesPerSecond: number;
}

/** The trainer's state in last.ckpt: enough to continue exactly, after any epoch or mid-epoch. */
export interface TrainerState {
  /** The last finished epoch. */
  epoch: number;
  schedule: ScheduleState;
  history: EpochRecord[];
  best: { epoch: number; iou: number } | null;
  split: Split;
  dataset: string;
  /** Set when early stopping ended the run: it counts as finished. */
  stoppedEarly?: { epoch: number; bestEpoch: number };
  /** A signal stopped epoch `epoch` before batch `batch`; the sums so far, to continue it exactly. */
  partial?: { epoch: number; batch: number; lossSum: number; seen: number; trainMs: number };
}

export interface TrainResult {
  runId: string;
  runDir: string;
  resultsFile: string;
  settings: RunSettings;
  history: EpochRecord[];
  best: { epoch: number; iou: number } | null;
  bestCheckpoint: string | null;
  lastCheckpoint: string;
  grid: string | null;
  stoppedEarly?: TrainerState['stoppedEarly'];
  test?: SplitEvaluation;
  resumedFrom?: number;
}

/** The run's loss or weights stopped being finite; the last good files are kept. */
export class DivergedError extends Error {}

/** A signal stopped the run; last.ckpt holds where (see `kept`). */
export class StoppedError extends Error {
  constructor(message: string, readonly signalName: string) {
    super(message);
  }
}

/** Run ids name the configuration, so a sweep or --resume finds a run again. */
export function defaultRunId(c: ResolvedConfig, seed: number): string {
  return `${c.model.name}_${c.loss.name}_s${c.imageSize}_w${c.width}_seed${seed}`;
}

export function outputRoots(opts: { out?: string; resultsFile?: string }) {
  return {
    artifacts: opts.out ? path.join(opts.out, 'artifacts') : 'artifacts',
    results: opts.resultsFile ?? (opts.out ? path.join(opts.out, 'results.csv') : path.join('results', 'results.csv')),
  };
}

/** The trainer state of a checkpoint, from older layouts too (before schedules: `plateau`). */
export function trainerStateOf(raw: unknown): TrainerState {
  const ts = raw as TrainerState & { plateau?: PlateauState };
  if (!ts || typeof ts !== 'object' || !Number.isInteger(ts.epoch)) throw new Error('the checkpoint holds no trainer state (it is not a last.ckpt)');
  return { ...ts, schedule: ts.schedule ?? ts.plateau!, history: ts.history ?? [] };
}

/** Epochs a last.ckpt has finished, 0 when unreadable as such. */
function finishedEpochs(file: string): number {
  try {
    return trainerStateOf(loadCheckpoint(file).trainerState).epoch;
  } catch {
    return 0;
  }
}

export function augmentConfig(name: string): AugmentConfig | null {
  const table: Record<string, AugmentConfig | null> = { cached: STUDY_AUGMENT, geometry: GEOMETRY_ONLY, none: null };
  if (!(name in table)) throw new Error(`--augmentation ${name}: expected one of ${Object.keys(table).join(', ')}`);
  return table[name];
}

/** The CPU's NCHWc block size for --nchwc, or an error saying why that lowering cannot run here. */
async function nchwcLowering(device: Device): Promise<number> {
  if (device !== 'cpu') throw new Error(`--nchwc with --device ${device}: the NCHWc lowering uses onnxruntime's CPU-only com.microsoft.nchwc kernels; drop --nchwc on ${device}`);
  const block = await nchwcBlockSize();
  if (!block) throw new Error('--nchwc: this onnxruntime-node build has no com.microsoft.nchwc kernels (or this CPU lacks AVX2); train without --nchwc');
  return block;
}

/** The split of a run: the one it was started with, a split file, or the seeded split. */
export function resolveRunSplit(dataset: Dataset, s: RunSettings, saved: Split | null): Split {
  const split = saved ?? ('file' in s.split ? loadSplit(s.split.file, dataset.ids) : makeSplit(dataset.ids, { seed: s.seed, fractions: s.split.fractions }));
  const source = saved ? 'the saved split' : 'file' in s.split ? `--split-file ${s.split.file}` : `--split-fractions ${s.split.fractions.join(',')}`;
  if (split.train.length === 0) throw new Error(`${source} leaves no images to train on (dataset ${s.data}, ${dataset.ids.length} images); give it a "train" list, or use more images`);
  if (split.valid.length === 0) throw new Error(`${source} leaves no images to validate on (dataset ${s.data}, ${dataset.ids.length} images); give it a non-empty "valid" list, or use --split-fractions with a validation share`);
  return split;
}

/**
 * A training-mode BatchNorm over a single value has no variance (PyTorch refuses such a batch; the
 * unbiased running variance would be NaN): the smallest BatchNorm input of the network, times the
 * smallest batch, must hold two values at least.
 */
export function smallestBatchNormPixels(c: ResolvedConfig): number {
  const g = new Graph('bn-sizes');
  forward(g, c.model, 'train', c.imageSize, c.width);
  let min = Infinity;
  for (const n of g.nodes) {
    if (n.op !== 'BatchNormTrain') continue;
    const s = g.value(n.inputs[0]).shape;
    min = Math.min(min, (s[2] as number) * (s[3] as number));
  }
  return min;
}

function checkBatchNormBatches(c: ResolvedConfig, trainCount: number, batchSize: number): void {
  const px = smallestBatchNormPixels(c);
  const rest = trainCount % batchSize;
  const smallest = Math.min(Math.min(batchSize, trainCount), rest || Infinity);
  if (smallest * px < 2) {
    const which = smallest === batchSize || rest === 0 ? `--batch-size ${batchSize}` : `the last batch of each epoch (${trainCount} images in batches of ${batchSize} leave ${rest})`;
    throw new Error(
      `${which} gives ${c.model.name}'s smallest BatchNorm (${Math.sqrt(px)}x${Math.sqrt(px)} at --image-size ${c.imageSize}) a single value per channel, which has no variance. ` +
        `Use another --batch-size (so that no batch holds one image), or a larger --image-size.`,
    );
  }
}

/** Bytes of last.ckpt (weights + BN statistics + two AdamW moments), best.ckpt, and a temp copy while writing. */
function checkDiskSpace(dir: string, c: ResolvedConfig): void {
  const specs = parameterSpecs(c);
  const weights = specs.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1) * (p.dtype === 'int64' ? 8 : 4), 0);
  const trainable = countParameters(specs) * 4;
  const need = 2 * (weights + 2 * trainable) + weights;
  let free: number;
  try {
    const st = fs.statfsSync(dir);
    free = st.bavail * st.bsize;
  } catch {
    return; // no statfs here: the verified writes still catch a full disk
  }
  if (free < need) {
    const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
    throw new Error(
      `${dir} has ${mb(free)} free, but this run's checkpoints need about ${mb(need)} (last.ckpt ${mb(weights + 2 * trainable)} while a new one is written, best.ckpt ${mb(weights)}). ` +
        `Free space, or write elsewhere with --out.`,
    );
  }
}

/** Train one run; see the header for the phases. */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const log = opts.log ?? ((s: string) => console.log(s));
  // prepare: settings, configuration, checks of everything the run will write
  const s = resolveSettings(opts);
  const device = opts.device ?? 'cpu';
  const lowering = opts.nchwc ? { nchwc: await nchwcLowering(device) } : undefined;
  const c = resolveConfig({ model: s.model, loss: s.loss, imageSize: s.imageSize, width: s.width, seed: s.seed, lowering });
  const augment = augmentConfig(s.augment);
  const runId = opts.runId ?? defaultRunId(c, s.seed);
  if (!/^[\w.@+-]+$/.test(runId) || runId.startsWith('.')) throw new Error(`--run-id ${runId}: expected letters, digits and . _ - + @ (a folder name), not starting with a dot`);
  const roots = outputRoots(opts);
  checkResultsFile(roots.results);
  assertWritableDir(roots.artifacts, 'run folder root');
  checkDiskSpace(roots.artifacts, c);
  if (opts.dumpBatches) assertWritableDir(opts.dumpBatches, '--dump-batches folder');

  // open the run folder (locked from here on)
  const run = await openRun({
    artifacts: roots.artifacts,
    runId,
    settings: s,
    resume: !!opts.resume,
    overwrite: !!opts.overwrite,
    allowChange: opts.allowChange ?? [],
    resultsFile: roots.results,
    finishedEpochs,
    log,
  });
  try {
    return await trainInRun(opts, s, c, augment, run, roots.results, device, log);
  } finally {
    run.lock.release();
  }
}

async function trainInRun(
  opts: TrainOptions,
  s: RunSettings,
  c: ResolvedConfig,
  augment: AugmentConfig | null,
  run: OpenedRun,
  resultsFile: string,
  device: Device,
  log: (line: string) => void,
): Promise<TrainResult> {
  const paths = run.paths;
  const runId = run.record.runId;
  // state (read first: a resumed run keeps its split, history and schedule)
  const specs = parameterSpecs(c);
  let state: ModelState;
  let ts: TrainerState | null = null;
  if (run.resume) {
    const ck = loadCheckpoint(paths.last);
    state = ModelState.fromCheckpoint(ck, specs, c);
    ts = trainerStateOf(ck.trainerState);
    const where = ts.partial ? `in epoch ${ts.partial.epoch}, before batch ${ts.partial.batch + 1}` : `after epoch ${ts.epoch}`;
    log(`resuming ${runId} ${where} from ${paths.last}`);
  } else {
    state = ModelState.fresh(c, specs);
  }
  if (opts.newDataframe && !ts) {
    const bak = await startFresh(resultsFile);
    if (bak) log(`started a fresh ${resultsFile} (the old one is kept as ${bak})`);
  }

  // data
  const progress = opts.progress !== false;
  const dataset = await loadRunData(s, c, opts, progress);
  const split = resolveRunSplit(dataset, s, ts?.split ?? null);
  const trainIdx = indicesOf(dataset.ids, split.train);
  const validIdx = indicesOf(dataset.ids, split.valid);
  checkBatchNormBatches(c, trainIdx.length, s.batchSize);
  await saveSplit(paths.split, split);
  log(`data: ${dataset.layout} ${dataset.root} (${dataset.ids.length} images at ${c.imageSize} px${dataset.fromCache ? ', from cache' : ''}); split ${split.train.length}/${split.valid.length}/${split.test.length}`);

  // graphs and sessions
  const graphs = await ensureGraphs(c, opts.graphsDir ?? graphCacheDir(), log);
  const stepInputs = graphs.manifest.graphs.trainStep.inputs;
  const evalInputs = graphs.manifest.graphs.eval.inputs;
  const { fallback } = cpuFallbacks(device, graphs.manifest.graphs.trainStep.ops ?? []);
  if (fallback.length) log(`note: ${device} has no kernel for ${fallback.join(', ')} (in the training graph); onnxruntime runs those nodes on the CPU`);
  const trainSession = await openSession(path.join(graphs.dir, GRAPH_FILES.trainStep), device);
  const evalSession = await openSession(path.join(graphs.dir, GRAPH_FILES.eval), device);
  log(`model: ${c.model.name} x ${c.loss.name}, image ${c.imageSize}, width ${c.width}, ${countParameters(specs).toLocaleString('en-US')} parameters, device ${device}`);
  log(describeSettings(s));

  const dump = opts.dumpBatches ? new BatchDump(opts.dumpBatches) : null;
  if (dump) await startDump(dump, s, c, state, dataset, validIdx, ts);

  const schedule: Schedule = ts
    ? restoreSchedule(ts.schedule, { kind: s.schedule, base: s.lr, epochs: s.epochs, warmup: s.warmupEpochs, baseChanged: run.changes.some((ch) => ch.key === 'lr') })
    : makeSchedule(s.schedule, s.lr, s.epochs, s.warmupEpochs);
  const history: EpochRecord[] = ts ? [...ts.history] : [];
  let best = ts?.best ?? null;
  let stoppedEarly = ts?.stoppedEarly;
  let partial = ts?.partial;
  const startEpoch = partial ? partial.epoch : (ts?.epoch ?? 0) + 1;
  const loader = new BatchLoader(dataset, trainIdx, { batchSize: s.batchSize, seed: s.seed, mode: 'train', augment: augment ?? false, workers: opts.workers ?? 1 });
  const gridIdx = validIdx.slice(0, 6);
  let grid: string | null = null;
  const S = c.imageSize;
  const rowOf = (h: EpochRecord): ResultRow => ({
    train_loss: h.trainLoss, valid_loss: h.validLoss, metric: h.iou, model: c.model.name, criterion: c.loss.name,
    epoch: h.epoch, lr: h.lr, seconds: h.seconds, images_per_s: h.imagesPerSecond, run: runId,
  });
  const trainerState = (epoch: number, extra: Partial<TrainerState> = {}): TrainerState => ({
    epoch, schedule: schedule.state(), history, best, split, dataset: s.data, ...(stoppedEarly ? { stoppedEarly } : {}), ...extra,
  });
  const meta = (epoch: number) => ({ epoch, step: state.step, bestMetric: best?.iou ?? 0, runId, dataset: s.data, recipe: s.recipe });
  /** Never write a non-finite checkpoint: stop, naming where it happened. */
  const assertFinite = (when: string) => {
    const bad = state.firstNonFinite();
    if (bad) {
      throw new DivergedError(
        `${when} (AdamW step ${state.step}): ${bad.tensor} holds ${bad.value} at index ${bad.index}; the weights diverged, so nothing of this epoch was saved. ` +
          `${keptFiles(paths)} Try a lower --lr (now ${schedule.lr}), then --resume or --overwrite.`,
      );
    }
  };

  try {
    for (let epoch = startEpoch; epoch <= s.epochs && !stoppedEarly; epoch++) {
      if (opts.stopAfterEpochs !== undefined && epoch - startEpoch >= opts.stopAfterEpochs) break;
      // set lr
      const lr = schedule.lr;
      const t0 = Date.now();
      const from = partial?.epoch === epoch ? partial : undefined;
      partial = undefined;
      // forward/backward/update, one graph run per batch
      const bar = progress ? createProgress({ total: trainIdx.length, label: `epoch ${epoch}/${s.epochs}`, unit: 'img' }) : null;
      let lossSum = from?.lossSum ?? 0;
      let seen = from?.seen ?? 0;
      let trainMs = from?.trainMs ?? 0;
      bar?.tick(seen);
      for await (const b of loader.epoch(epoch - 1, from?.batch ?? 0)) {
        if (opts.signal?.aborted) {
          bar?.stop();
          assertFinite(`stopping in epoch ${epoch}`);
          await saveCheckpoint(paths.last, state.toCheckpoint(c, meta(epoch - 1), { optimizer: true, trainerState: trainerState(epoch - 1, { partial: { epoch, batch: b.batch, lossSum, seen, trainMs } }) }));
          throw new StoppedError(
            `stopped by ${String(opts.signal.reason ?? 'a signal')} in epoch ${epoch} before batch ${b.batch + 1} of ${loader.numBatches}; saved the run there in ${paths.last}. ${keptFiles(paths, true)}`,
            String(opts.signal.reason ?? 'SIGINT'),
          );
        }
        const ts0 = Date.now();
        if (dump) await dump.batch(epoch, b.batch, b.image, b.mask, b.count, S);
        const out = await trainSession.run({
          ...state.feeds(stepInputs),
          [N.IMAGE]: new ort.Tensor('float32', b.image, [b.count, 3, S, S]),
          [N.MASK]: new ort.Tensor('float32', b.mask, [b.count, 1, S, S]),
          [N.LR]: new ort.Tensor('float32', Float32Array.of(lr), []),
          [N.STEP]: new ort.Tensor('float32', Float32Array.of(state.step + 1), []),
        });
        const loss = out[N.LOSS].data[0] as number;
        if (!Number.isFinite(loss)) {
          throw new DivergedError(
            `epoch ${epoch}, batch ${b.batch + 1} (AdamW step ${state.step + 1}): the ${c.loss.name} loss is ${loss}; the run stopped without updating the weights. ` +
              `${keptFiles(paths)} Try a lower --lr (now ${lr}) or another loss, then --resume.`,
          );
        }
        state.absorb(out);
        trainMs += Date.now() - ts0;
        lossSum += loss * b.count;
        seen += b.count;
        bar?.tick(b.count, { loss: loss.toFixed(4) });
      }
      bar?.stop();
      assertFinite(`epoch ${epoch}`);
      // evaluate
      const gridProbs = new Map<number, Float32Array>();
      const val = await evaluateSamples(evalSession, evalInputs, state, dataset, validIdx, {
        batchSize: s.batchSize,
        onProbabilities: (indices, prob) => {
          indices.forEach((idx, k) => {
            if (gridIdx.includes(idx)) gridProbs.set(idx, prob.slice(k * S * S, (k + 1) * S * S));
          });
        },
      });
      if (!Number.isFinite(val.loss) || !Number.isFinite(val.mean.iou)) {
        throw new DivergedError(`epoch ${epoch}: the validation loss is ${val.loss} (IoU ${val.mean.iou}); nothing of this epoch was saved. ${keptFiles(paths)} Try a lower --lr, then --resume.`);
      }
      const rec: EpochRecord = {
        epoch, trainLoss: lossSum / Math.max(seen, 1), validLoss: val.loss, iou: val.mean.iou, lr,
        seconds: (Date.now() - t0) / 1000, imagesPerSecond: seen / Math.max(trainMs / 1000, 1e-9),
      };
      history.push(rec);
      schedule.step(rec.iou);
      log(
        `epoch ${epoch}/${s.epochs}: train loss ${rec.trainLoss.toFixed(4)}, valid loss ${rec.validLoss.toFixed(4)}, ` +
          `valid IoU ${rec.iou.toFixed(4)}, lr ${lr.toExponential(1)}, ${rec.seconds.toFixed(1)} s, ${rec.imagesPerSecond.toFixed(1)} img/s`,
      );
      // checkpoint: best (with a prediction grid), then last, then the CSV rows
      const isBest = !best || rec.iou > best.iou;
      if (isBest) best = { epoch, iou: rec.iou };
      if (s.earlyStop && epoch - best!.epoch >= s.earlyStop && epoch < s.epochs) {
        stoppedEarly = { epoch, bestEpoch: best!.epoch };
        log(`early stop: validation IoU has not improved for ${s.earlyStop} epochs (best ${best!.iou.toFixed(4)} in epoch ${best!.epoch})`);
      }
      if (isBest && opts.saveModel !== false) {
        await saveCheckpoint(paths.best, state.toCheckpoint(c, meta(epoch), { optimizer: false }));
        const epochGrid = path.join(paths.dir, `predictions_epoch_${String(epoch).padStart(3, '0')}.png`);
        const items = gridIdx.map((idx) => ({
          image: dataset.images.subarray(idx * S * S * 3, (idx + 1) * S * S * 3),
          prob: gridProbs.get(idx)!,
          mask: dataset.masks.subarray(idx * S * S, (idx + 1) * S * S),
          id: dataset.ids[idx],
        }));
        await predictionGrid(items, S, epochGrid);
        await copyFileAtomic(epochGrid, paths.grid);
        grid = paths.grid;
      }
      await saveCheckpoint(paths.last, state.toCheckpoint(c, meta(epoch), { optimizer: true, trainerState: trainerState(epoch) }));
      await upsertRunRows(resultsFile, runId, history.map(rowOf));
      opts.onEpoch?.(rec, s.epochs);
    }
    // A run that had already finished: make sure its rows are in this results file.
    if (ts && startEpoch > s.epochs && history.length) await upsertRunRows(resultsFile, runId, history.map(rowOf));
  } finally {
    await loader.close();
  }
  await writeFileAtomic(paths.history, JSON.stringify({ runId, settings: s, history, ...(stoppedEarly ? { stoppedEarly } : {}) }, null, 2) + '\n');

  const result: TrainResult = {
    runId,
    runDir: paths.dir,
    resultsFile,
    settings: s,
    history,
    best,
    bestCheckpoint: fs.existsSync(paths.best) ? paths.best : null,
    lastCheckpoint: paths.last,
    grid: grid ?? (fs.existsSync(paths.grid) ? paths.grid : null),
    ...(stoppedEarly ? { stoppedEarly } : {}),
    resumedFrom: ts ? ts.epoch : undefined,
  };
  // evaluate on the test split
  const finished = history.length === s.epochs || !!stoppedEarly;
  if (opts.evaluate && finished && result.bestCheckpoint && split.test.length) {
    const bestState = ModelState.fromCheckpoint(loadCheckpoint(result.bestCheckpoint), specs, c);
    result.test = await evaluateSamples(evalSession, evalInputs, bestState, dataset, indicesOf(dataset.ids, split.test), { batchSize: s.batchSize });
    const m = result.test.mean;
    log(`test (${split.test.length} images, best.ckpt from epoch ${best!.epoch}): IoU ${m.iou.toFixed(4)}, Dice ${m.dice.toFixed(4)}, accuracy ${m.accuracy.toFixed(4)}, sensitivity ${m.sensitivity.toFixed(4)}, specificity ${m.specificity.toFixed(4)}`);
  }
  return result;
}

/** What a stopped or failed run leaves behind, for messages. */
function keptFiles(p: RunPaths, afterSave = false): string {
  const have = [p.last, p.best].filter((f) => fs.existsSync(f));
  if (!have.length) return afterSave ? '' : 'No epoch had finished, so no checkpoint was kept.';
  return `Kept: ${have.join(', ')}${fs.existsSync(p.grid) ? `, ${p.grid}` : ''} (the results CSV holds every finished epoch).`;
}

async function loadRunData(s: RunSettings, c: ResolvedConfig, opts: TrainOptions, progress: boolean): Promise<Dataset> {
  const bars: { decode?: ReturnType<typeof createProgress> } = {};
  let decoded = 0;
  const dataset = await loadDataset(s.data, {
    imageSize: c.imageSize,
    cacheDir: opts.cacheDir === undefined ? dataCacheDir() : opts.cacheDir,
    onProgress: (done, total) => {
      if (!progress || (done === total && decoded === 0)) return; // a cache hit reports (N, N) once
      bars.decode ??= createProgress({ total, label: 'decode', unit: 'img' });
      bars.decode.tick(done - decoded);
      decoded = done;
    },
  });
  bars.decode?.stop();
  return dataset;
}

async function startDump(dump: BatchDump, s: RunSettings, c: ResolvedConfig, state: ModelState, dataset: Dataset, validIdx: number[], ts: TrainerState | null): Promise<void> {
  if (ts) throw new Error(`--dump-batches records a run from its first step; it cannot start in a resumed run: dump a new run (--overwrite or another --out)`);
  await saveCheckpoint(path.join(dump.dir, 'initial.ckpt'), state.toCheckpoint(c, { epoch: 0 }, { optimizer: false }));
  await dump.recipe({ ...s, model: c.model.name, modelId: c.model.id, loss: c.loss.name, lossId: c.loss.id, weightDecay: 0.01 });
  const loader = new BatchLoader(dataset, validIdx, { batchSize: validIdx.length, mode: 'eval', workers: 0 });
  try {
    for await (const b of loader.epoch(0)) {
      await dump.array('valid.image', b.image, [b.count, 3, c.imageSize, c.imageSize]);
      await dump.array('valid.mask', b.mask, [b.count, 1, c.imageSize, c.imageSize]);
      await writeFileAtomic(path.join(dump.dir, 'valid.ids.json'), JSON.stringify(b.ids) + '\n');
    }
  } finally {
    await loader.close();
  }
}
