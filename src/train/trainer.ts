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
 *   end         history.json (the callers then may score best.ckpt on the test split: infer/trained-run.ts)
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
import { augmentPreset, BatchLoader, Dataset, indicesOf, loadDataset, needsSourceRes, planSplit, saveSplit, Split, type Fold } from '../data';
import type { AugmentConfig } from '../data';
import { countParameters, ensureGraphs, GRAPH_FILES, parameterSpecs, resolveConfig, ResolvedConfig } from '../graphs';
import { forward } from '../models';
import { Graph } from '../onnx/graph';
import * as N from '../onnx/names';
import { cpuFallbacks } from '../onnx/providers';
import { nchwcBlockSize } from '../onnx/cpu';
import { cosineLr, makeSchedule, restoreSchedule, Schedule, ScheduleState } from '../optim/schedule';
import { ADAMW } from '../optim/adamw';
import type { PlateauState } from '../optim/plateau';
import { checkResultsFile, predictionGrid, ResultRow, startFresh, upsertRunRows } from '../report';
import { assertWritableDir, copyFileAtomic, writeFileAtomic } from '../util/atomic';
import { dataCacheDir } from '../util/paths';
import { createProgress } from '../util/progress';
import { firstNonFinite, loadCheckpoint, saveCheckpoint } from '../checkpoint/checkpoint';
import { checkDevice, Device, openSession, parseThreads } from '../onnx/session';
import { BatchDump } from './dump';
import { checkBatchMemory, limitTrain, resolveWorkers } from './bounds';
import { availableCores } from '../util/machine';
import { describeSettings, resolveSettings, RunSettings, SettingsInput } from './recipe';
import { findLabels, labelCounts, oversampledIndices, readLabels, UNLABELLED } from '../data/labels';
import { openRun, OpenedRun, RunPaths } from './run-folder';
import { RunLog } from './run-log';
import { ModelState } from '../checkpoint/state';
import { TrainStep } from './step';
import { evaluateSamples } from './validate';

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
  device?: Device;
  /**
   * CPU only: run the narrow convolutions on onnxruntime's blocked com.microsoft.nchwc kernels (true)
   * or never (false); same function, other kernels. Default: the CPU pipeline's measured rule
   * (src/graphs/pipeline.ts).
   */
  nchwc?: boolean;
  /** Augmentation worker threads (default 1; 0 = in this thread). */
  workers?: number;
  /** onnxruntime intra-op threads (default: the cores this process may use; session.ts). */
  threads?: number;
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
  /** The run folder's split file. */
  splitFile: string;
  /** Images of the test split (the run never looks at them; --evaluate scores them after the fit). */
  testImages: number;
  /** Every epoch trained, or early stopping ended the run. */
  finished: boolean;
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
export function defaultRunId(c: ResolvedConfig, seed: number, fold?: Fold): string {
  return `${c.model.name}_${c.loss.name}_s${c.imageSize}_w${c.width}_seed${seed}` + (fold ? `_fold${fold.index}of${fold.count}` : '');
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

/** The CPU's NCHWc block size for --nchwc, or an error saying why that lowering cannot run here. */
async function nchwcLowering(device: Device): Promise<number> {
  if (device !== 'cpu') throw new Error(`--nchwc with --device ${device}: the NCHWc lowering uses onnxruntime's CPU-only com.microsoft.nchwc kernels; drop --nchwc on ${device}`);
  const block = await nchwcBlockSize();
  if (!block) throw new Error('--nchwc: this onnxruntime-node build has no com.microsoft.nchwc kernels (or this CPU lacks AVX2); train without --nchwc');
  return block;
}

/** The split of a run: the one it was started with, a split file, or the seeded split. */
export function resolveRunSplit(dataset: Dataset, s: RunSettings, saved: Split | null): Split {
  const split = saved ?? planSplit(dataset.ids, s.split, s.seed, s.fold);
  const source = (saved ? 'the saved split' : 'file' in s.split ? `--split-file ${s.split.file}` : `--split-fractions ${s.split.fractions.join(',')}`) + (s.fold ? ` --fold ${s.fold.index}/${s.fold.count}` : '');
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
    const mb = (b: number) => (b < 2 ** 20 ? `${(b / 1024).toFixed(0)} KiB` : `${(b / 2 ** 20).toFixed(0)} MiB`);
    throw new Error(
      `${dir} has ${mb(free)} free, but this run's checkpoints need about ${mb(need)} (last.ckpt ${mb(weights + 2 * trainable)} while a new one is written, best.ckpt ${mb(weights)}). ` +
        `Free space, or write elsewhere with --out.`,
    );
  }
}

/**
 * A resumed cosine run given another --epochs has its curve redrawn for the new length from the epoch
 * reached (optim/schedule.ts), which after the decay raises the rate again (3.0e-5 back up to 7.9e-5 in
 * a 10 -> 12 epoch resume). melseg keeps that (the run then ends at 0 as a run of that length would) but
 * says so, with both rates, instead of doing it silently.
 */
export function warnStretchedCosine(saved: ScheduleState, s: Pick<RunSettings, 'schedule' | 'epochs' | 'lr' | 'warmupEpochs'>, log: (line: string) => void): void {
  if (saved.kind !== 'cosine' || s.schedule !== 'cosine' || saved.epochs === s.epochs) return;
  const e = saved.epoch;
  const before = e > 0 ? cosineLr(saved, e) : saved.base;
  const after = cosineLr({ ...saved, base: s.lr, epochs: s.epochs, warmup: s.warmupEpochs }, e + 1);
  const rate = (x: number) => x.toExponential(1);
  log(
    `warning: --epochs ${s.epochs} redraws this run's cosine schedule (planned over ${saved.epochs} epochs) from epoch ${e + 1}: ` +
      `the learning rate ${after > before ? 'goes back UP' : 'goes'} from ${rate(before)} (epoch ${e}) to ${rate(after)} (epoch ${e + 1}) and decays to 0 at epoch ${s.epochs}. ` +
      `To keep it low instead, resume with a lower --lr and --allow-change lr.`,
  );
}

/** Train one run; see the header for the phases. */
/**
 * --oversample's labels, read before any image is decoded: labels.csv beside the data, holding every
 * label asked for (whether the training split has images of it is checked once the split is made).
 */
function oversampleLabels(s: RunSettings): { file: string; labels: Map<string, string> } | null {
  if (!s.oversample) return null;
  const file = findLabels(s.data);
  if (!file) throw new Error(`--oversample needs each image's label: no labels.csv in ${s.data} or the folder above it (a CSV of id,label, or ISIC 2017 Part 3's image_id,melanoma,seborrheic_keratosis)`);
  const labels = readLabels(file);
  const all = labelCounts(labels.values());
  const unknown = Object.keys(s.oversample).filter((l) => !all[l]);
  if (unknown.length) throw new Error(`--oversample: no image has the label ${unknown.join(', ')} in ${file} (its labels: ${Object.keys(all).join(', ')}); fix the spelling, e.g. --oversample ${Object.keys(all)[0] ?? 'label'}=2`);
  return { file, labels };
}

/** The training indices with --oversample's copies, said in the log. */
function oversample(s: RunSettings, found: ReturnType<typeof oversampleLabels>, dataset: Dataset, trainIdx: number[], log: (s: string) => void): number[] {
  if (!s.oversample || !found) return trainIdx;
  const { file, labels } = found;
  const counts = labelCounts(trainIdx.map((i) => labels.get(dataset.ids[i] ?? '') ?? UNLABELLED));
  const unknown = Object.keys(s.oversample).filter((l) => !counts[l]);
  if (unknown.length) throw new Error(`--oversample: no training image has the label ${unknown.join(', ')} in ${file} (labels of the training images: ${Object.keys(counts).join(', ')})`);
  const out = oversampledIndices(trainIdx, dataset.ids, labels, s.oversample);
  log(`oversample: ${Object.entries(s.oversample).map(([l, n]) => `${counts[l]} ${l} x${n}`).join(', ')} (labels from ${file}): ${out.length} samples per epoch from ${trainIdx.length} images`);
  return out;
}

export async function train(opts: TrainOptions): Promise<TrainResult> {
  const runLog = new RunLog(opts.log ?? ((s: string) => console.log(s)));
  const log = runLog.line;
  // prepare: settings, configuration, checks of everything the run will write
  const s = resolveSettings(opts);
  opts = { ...opts, workers: resolveWorkers(opts.workers ?? 1, availableCores(), log), threads: parseThreads(opts.threads) };
  const device = opts.device ?? 'cpu';
  await checkDevice(device);
  if (opts.nchwc) await nchwcLowering(device);
  const c = resolveConfig({ model: s.model, loss: s.loss, imageSize: s.imageSize, width: s.width, seed: s.seed, nchwc: opts.nchwc });
  const augment = augmentPreset(s.augment, s.augmentOff);
  const labels = oversampleLabels(s);
  const runId = opts.runId ?? defaultRunId(c, s.seed, s.fold);
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
    keepEpochs: opts.epochs === undefined,
    resultsFile: roots.results,
    finishedEpochs,
    log,
  });
  runLog.open(run.paths.dir, `melseg train, run ${runId}${run.resume ? ' (resumed)' : ''}`);
  try {
    // run.record.settings: a resumed run without --epochs keeps its own
    const fit = await Fit.start({ o: opts, s: run.record.settings, c, run, resultsFile: roots.results, log }, augment, labels, device);
    await fit.fit();
    return await fit.finish();
  } finally {
    run.lock.release();
  }
}

/** What a fit is for: the options and settings, the configuration, the run folder, the results file, the log. */
interface FitRun {
  o: TrainOptions;
  s: RunSettings;
  c: ResolvedConfig;
  run: OpenedRun;
  resultsFile: string;
  log: (line: string) => void;
}

/** The data of a fit: the dataset and its split, the training (with --oversample's copies) and validation indices, the batches. */
interface FitData {
  dataset: Dataset;
  split: Split;
  trainIdx: number[];
  validIdx: number[];
  loader: BatchLoader;
}

/** What a fit trains: the weights, the trainer state it continues (null: a new run), the sessions, the schedule, the batch dump. */
interface FitModel {
  state: ModelState;
  saved: TrainerState | null;
  sessions: { train: ort.InferenceSession; eval: ort.InferenceSession; evalInputs: string[] };
  schedule: Schedule;
  dump: BatchDump | null;
}

/**
 * One run's fit, in the phases of fastai's vocabulary: `start` (before_fit: state, data, graphs),
 * `fit` (per epoch: before_epoch sets the lr, `trainEpoch` runs the batches, `validate`, `afterEpoch`
 * steps the schedule and writes the checkpoints and rows), `finish` (after_fit).
 */
class Fit {
  private readonly history: EpochRecord[];
  private best: { epoch: number; iou: number } | null;
  private stoppedEarly: TrainerState['stoppedEarly'];
  private partial: TrainerState['partial'];
  private grid: string | null = null;
  private readonly gridIdx: number[];
  /** the fused train step, updating `state` in place (src/train/step.ts) */
  private readonly step: TrainStep;

  private readonly o: TrainOptions;
  private readonly s: RunSettings;
  private readonly c: ResolvedConfig;
  private readonly run: OpenedRun;
  private readonly resultsFile: string;
  private readonly log: (line: string) => void;
  private readonly dataset: Dataset;
  private readonly split: Split;
  private readonly trainIdx: number[];
  private readonly validIdx: number[];
  private readonly loader: BatchLoader;
  private readonly state: ModelState;
  private readonly saved: TrainerState | null;
  private readonly sessions: FitModel['sessions'];
  private readonly schedule: Schedule;
  private readonly dump: BatchDump | null;

  private constructor(r: FitRun, d: FitData, m: FitModel) {
    ({ o: this.o, s: this.s, c: this.c, run: this.run, resultsFile: this.resultsFile, log: this.log } = r);
    ({ dataset: this.dataset, split: this.split, trainIdx: this.trainIdx, validIdx: this.validIdx, loader: this.loader } = d);
    ({ state: this.state, saved: this.saved, sessions: this.sessions, schedule: this.schedule, dump: this.dump } = m);
    const { saved, validIdx, state, c, sessions } = this;
    this.history = saved ? [...saved.history] : [];
    this.best = saved?.best ?? null;
    this.stoppedEarly = saved?.stoppedEarly;
    this.partial = saved?.partial;
    this.gridIdx = validIdx.slice(0, 6);
    this.step = new TrainStep(sessions.train, state, c.imageSize);
  }

  /** before_fit: the state (fresh, or last.ckpt), the data and its split, the graphs and sessions, the schedule. */
  static async start(r: FitRun, augment: AugmentConfig | null, labels: ReturnType<typeof oversampleLabels>, device: Device): Promise<Fit> {
    const { o, s, c, run, resultsFile, log } = r;
    const specs = parameterSpecs(c);
    let state: ModelState;
    let saved: TrainerState | null = null;
    if (run.resume) {
      const ck = loadCheckpoint(run.paths.last);
      state = ModelState.fromCheckpoint(ck, specs, c);
      saved = trainerStateOf(ck.trainerState);
      const where = saved.partial ? `in epoch ${saved.partial.epoch}, before batch ${saved.partial.batch + 1}` : `after epoch ${saved.epoch}`;
      log(`resuming ${run.record.runId} ${where} from ${run.paths.last}`);
    } else {
      state = ModelState.fresh(c, specs);
    }
    if (o.newDataframe && !saved) {
      const bak = await startFresh(resultsFile);
      if (bak) log(`started a fresh ${resultsFile} (the old one is kept as ${bak})`);
    }
    // data (a resumed run keeps its split)
    const dataset = await loadRunData(s, c, o, needsSourceRes(augment), o.progress !== false);
    for (const w of dataset.warnings) log(`warning: ${w}`);
    const split = resolveRunSplit(dataset, s, saved?.split ?? null);
    const trainIdx = oversample(s, labels, dataset, indicesOf(dataset.ids, limitTrain(split.train, s.limit, log)), log);
    const validIdx = indicesOf(dataset.ids, split.valid);
    checkBatchNormBatches(c, trainIdx.length, s.batchSize);
    const batch = checkBatchMemory(c, s.batchSize, trainIdx.length);
    await saveSplit(run.paths.split, split);
    log(`data: ${dataset.layout} ${dataset.root} (${dataset.ids.length} images at ${c.imageSize} px${dataset.fromCache ? ', from cache' : ''}); split ${split.train.length}/${split.valid.length}/${split.test.length}`);
    if (batch < s.batchSize) log(`note: --batch-size ${s.batchSize} is more than the ${trainIdx.length} training images: each step trains on a batch of ${batch}`);
    // graphs and sessions
    const graphs = await ensureGraphs(c, { root: o.graphsDir, device, kinds: ['trainStep', 'eval'], log });
    const { fallback } = cpuFallbacks(device, graphs.manifest.graphs.trainStep.ops ?? []);
    if (fallback.length) log(`note: ${device} has no kernel for ${fallback.join(', ')} (in the training graph); onnxruntime runs those nodes on the CPU`);
    const sessions = {
      train: await openSession(path.join(graphs.dir, GRAPH_FILES.trainStep), device, { threads: o.threads }),
      eval: await openSession(path.join(graphs.dir, GRAPH_FILES.eval), device, { threads: o.threads }),
      evalInputs: graphs.manifest.graphs.eval.inputs,
    };
    log(`model: ${c.model.name} x ${c.loss.name}, image ${c.imageSize}, width ${c.width}, ${countParameters(specs).toLocaleString('en-US')} parameters, device ${device}`);
    log(describeSettings(s));
    const dump = o.dumpBatches ? new BatchDump(o.dumpBatches) : null;
    if (dump) await startDump(dump, s, c, state, dataset, validIdx, saved);
    const schedule: Schedule = saved
      ? restoreSchedule(saved.schedule, { kind: s.schedule, base: s.lr, epochs: s.epochs, warmup: s.warmupEpochs, baseChanged: run.changes.some((ch) => ch.key === 'lr') })
      : makeSchedule(s.schedule, s.lr, s.epochs, s.warmupEpochs);
    if (saved) warnStretchedCosine(saved.schedule, s, log);
    const loader = new BatchLoader(dataset, trainIdx, { batchSize: s.batchSize, seed: s.seed, mode: 'train', augment: augment ?? false, workers: o.workers ?? 1 });
    return new Fit(r, { dataset, split, trainIdx, validIdx, loader }, { state, saved, sessions, schedule, dump });
  }

  private get paths(): RunPaths {
    return this.run.paths;
  }

  private trainerState(epoch: number, extra: Partial<TrainerState> = {}): TrainerState {
    const { schedule, history, best, split, stoppedEarly } = this;
    return { epoch, schedule: schedule.state(), history, best, split, dataset: this.s.data, ...(stoppedEarly ? { stoppedEarly } : {}), ...extra };
  }

  private meta(epoch: number) {
    return { epoch, step: this.state.step, bestMetric: this.best?.iou ?? 0, runId: this.run.record.runId, dataset: this.s.data, recipe: this.s.recipe };
  }

  private row(h: EpochRecord): ResultRow {
    return {
      train_loss: h.trainLoss, valid_loss: h.validLoss, metric: h.iou, model: this.c.model.name, criterion: this.c.loss.name,
      epoch: h.epoch, lr: h.lr, seconds: h.seconds, images_per_s: h.imagesPerSecond, run: this.run.record.runId,
    };
  }

  /** Never write a non-finite checkpoint: stop, naming where it happened. */
  private assertFinite(when: string): void {
    const bad = firstNonFinite(this.state.toCheckpoint(this.c, this.meta(0), { optimizer: true }));
    if (bad) {
      throw new DivergedError(
        `${when} (AdamW step ${this.state.step}): ${bad.tensor} holds ${bad.value} at index ${bad.index}; the weights diverged, so nothing of this epoch was saved. ` +
          `${keptFiles(this.paths)} Try a lower --lr (now ${this.schedule.lr}), then --resume or --overwrite.`,
      );
    }
  }

  /** The epochs still to train. */
  async fit(): Promise<void> {
    const startEpoch = this.partial ? this.partial.epoch : (this.saved?.epoch ?? 0) + 1;
    try {
      for (let epoch = startEpoch; epoch <= this.s.epochs && !this.stoppedEarly; epoch++) {
        if (this.o.stopAfterEpochs !== undefined && epoch - startEpoch >= this.o.stopAfterEpochs) break;
        // before_epoch: set lr
        const lr = this.schedule.lr;
        const t0 = Date.now();
        const sums = await this.trainEpoch(epoch, lr);
        this.assertFinite(`epoch ${epoch}`);
        const { val, gridProbs } = await this.validate(epoch);
        const rec: EpochRecord = {
          epoch, trainLoss: sums.lossSum / Math.max(sums.seen, 1), validLoss: val.loss, iou: val.mean.iou, lr,
          seconds: (Date.now() - t0) / 1000, imagesPerSecond: sums.seen / Math.max(sums.trainMs / 1000, 1e-9),
        };
        await this.afterEpoch(rec, gridProbs);
      }
      // A run that had already finished: make sure its rows are in this results file.
      if (this.saved && startEpoch > this.s.epochs && this.history.length) await upsertRunRows(this.resultsFile, this.run.record.runId, this.history.map((h) => this.row(h)));
    } finally {
      await this.loader.close();
    }
  }

  /** all_batches: forward/backward/update, one graph run per batch; a signal saves the run mid-epoch. */
  private async trainEpoch(epoch: number, lr: number): Promise<{ lossSum: number; seen: number; trainMs: number }> {
    const S = this.c.imageSize;
    const from = this.partial?.epoch === epoch ? this.partial : undefined;
    this.partial = undefined;
    const bar = this.o.progress !== false ? createProgress({ total: this.trainIdx.length, label: `epoch ${epoch}/${this.s.epochs}`, unit: 'img' }) : null;
    const sums = { lossSum: from?.lossSum ?? 0, seen: from?.seen ?? 0, trainMs: from?.trainMs ?? 0 };
    bar?.tick(sums.seen);
    try {
      for await (const b of this.loader.epoch(epoch - 1, from?.batch ?? 0)) {
        if (this.o.signal?.aborted) await this.stop(epoch, b.batch, sums);
        const t0 = Date.now();
        if (this.dump) await this.dump.batch(epoch, b.batch, b.image, b.mask, b.count, S);
        const loss = await this.step.run(b.image, b.mask, b.count, lr);
        if (!Number.isFinite(loss)) {
          throw new DivergedError(
            `epoch ${epoch}, batch ${b.batch + 1} (AdamW step ${this.state.step}): the ${this.c.loss.name} loss is ${loss}; the run stopped and saved nothing of this epoch. ` +
              `${keptFiles(this.paths)} Try a lower --lr (now ${lr}) or another loss, then --resume.`,
          );
        }
        sums.trainMs += Date.now() - t0;
        sums.lossSum += loss * b.count;
        sums.seen += b.count;
        bar?.tick(b.count, { loss: loss.toFixed(4) });
      }
    } finally {
      bar?.stop();
    }
    return sums;
  }

  /** A signal arrived before batch `batch` of `epoch`: save the run there (last.ckpt) and stop. */
  private async stop(epoch: number, batch: number, sums: { lossSum: number; seen: number; trainMs: number }): Promise<never> {
    this.assertFinite(`stopping in epoch ${epoch}`);
    const ts = this.trainerState(epoch - 1, { partial: { epoch, batch, ...sums } });
    await saveCheckpoint(this.paths.last, this.state.toCheckpoint(this.c, this.meta(epoch - 1), { optimizer: true, trainerState: ts }));
    const why = String(this.o.signal!.reason ?? 'SIGINT');
    throw new StoppedError(`stopped by ${why} in epoch ${epoch} before batch ${batch + 1} of ${this.loader.numBatches}; saved the run there in ${this.paths.last}. ${keptFiles(this.paths, true)}`, why);
  }

  /** Validation loss and IoU (eval-mode BatchNorm), and the probabilities of the grid's images. */
  private async validate(epoch: number) {
    const S = this.c.imageSize;
    const gridProbs = new Map<number, Float32Array>();
    const val = await evaluateSamples(this.sessions.eval, this.sessions.evalInputs, this.state, this.dataset, this.validIdx, {
      batchSize: this.s.batchSize,
      onProbabilities: (indices, prob) => {
        indices.forEach((idx, k) => {
          if (this.gridIdx.includes(idx)) gridProbs.set(idx, prob.slice(k * S * S, (k + 1) * S * S));
        });
      },
    });
    if (!Number.isFinite(val.loss) || !Number.isFinite(val.mean.iou)) {
      throw new DivergedError(`epoch ${epoch}: the validation loss is ${val.loss} (IoU ${val.mean.iou}); nothing of this epoch was saved. ${keptFiles(this.paths)} Try a lower --lr, then --resume.`);
    }
    return { val, gridProbs };
  }

  /** after_epoch: log, schedule, early stop; checkpoint best (with a grid), then last, then the CSV rows. */
  private async afterEpoch(rec: EpochRecord, gridProbs: Map<number, Float32Array>): Promise<void> {
    const { s, c, paths, dataset } = this;
    const S = c.imageSize;
    this.history.push(rec);
    this.schedule.step(rec.iou);
    this.log(
      `epoch ${rec.epoch}/${s.epochs}: train loss ${rec.trainLoss.toFixed(4)}, valid loss ${rec.validLoss.toFixed(4)}, ` +
        `valid IoU ${rec.iou.toFixed(4)}, lr ${rec.lr.toExponential(1)}, ${rec.seconds.toFixed(1)} s, ${rec.imagesPerSecond.toFixed(1)} img/s`,
    );
    const isBest = !this.best || rec.iou > this.best.iou;
    if (isBest) this.best = { epoch: rec.epoch, iou: rec.iou };
    const best = this.best!;
    if (s.earlyStop && rec.epoch - best.epoch >= s.earlyStop && rec.epoch < s.epochs) {
      this.stoppedEarly = { epoch: rec.epoch, bestEpoch: best.epoch };
      this.log(`early stop: validation IoU has not improved for ${s.earlyStop} epochs (best ${best.iou.toFixed(4)} in epoch ${best.epoch})`);
    }
    if (isBest && this.o.saveModel !== false) {
      await saveCheckpoint(paths.best, this.state.toCheckpoint(c, this.meta(rec.epoch), { optimizer: false }));
      const epochGrid = path.join(paths.dir, `predictions_epoch_${String(rec.epoch).padStart(3, '0')}.png`);
      const items = this.gridIdx.map((idx) => ({
        image: dataset.images.subarray(idx * S * S * 3, (idx + 1) * S * S * 3),
        prob: gridProbs.get(idx)!,
        mask: dataset.masks.subarray(idx * S * S, (idx + 1) * S * S),
        id: dataset.ids[idx],
      }));
      await predictionGrid(items, S, epochGrid);
      await copyFileAtomic(epochGrid, paths.grid);
      this.grid = paths.grid;
    }
    await saveCheckpoint(paths.last, this.state.toCheckpoint(c, this.meta(rec.epoch), { optimizer: true, trainerState: this.trainerState(rec.epoch) }));
    await upsertRunRows(this.resultsFile, this.run.record.runId, this.history.map((h) => this.row(h)));
    this.o.onEpoch?.(rec, s.epochs);
  }

  /** after_fit: history.json and the result (scoring the test split is the caller's step: src/infer/trained-run.ts). */
  async finish(): Promise<TrainResult> {
    const { s, paths, history, best, stoppedEarly } = this;
    const runId = this.run.record.runId;
    await writeFileAtomic(paths.history, JSON.stringify({ runId, settings: s, history, ...(stoppedEarly ? { stoppedEarly } : {}) }, null, 2) + '\n');
    return {
      runId,
      runDir: paths.dir,
      resultsFile: this.resultsFile,
      settings: s,
      history,
      best,
      bestCheckpoint: fs.existsSync(paths.best) ? paths.best : null,
      lastCheckpoint: paths.last,
      grid: this.grid ?? (fs.existsSync(paths.grid) ? paths.grid : null),
      ...(stoppedEarly ? { stoppedEarly } : {}),
      resumedFrom: this.saved ? this.saved.epoch : undefined,
      splitFile: paths.split,
      testImages: this.split.test.length,
      finished: history.length === s.epochs || !!stoppedEarly,
    };
  }
}

/** What a stopped or failed run leaves behind, for messages. */
function keptFiles(p: RunPaths, afterSave = false): string {
  const have = [p.last, p.best].filter((f) => fs.existsSync(f));
  if (!have.length) return afterSave ? '' : 'No epoch had finished, so no checkpoint was kept.';
  return `Kept: ${have.join(', ')}${fs.existsSync(p.grid) ? `, ${p.grid}` : ''} (the results CSV holds every finished epoch).`;
}

async function loadRunData(s: RunSettings, c: ResolvedConfig, opts: TrainOptions, keepSource: boolean, progress: boolean): Promise<Dataset> {
  const bars: { decode?: ReturnType<typeof createProgress> } = {};
  let decoded = 0;
  const dataset = await loadDataset(s.data, {
    imageSize: c.imageSize,
    keepSource,
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
  await dump.recipe({ ...s, model: c.model.name, modelId: c.model.id, loss: c.loss.name, lossId: c.loss.id, weightDecay: ADAMW.weightDecay });
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
