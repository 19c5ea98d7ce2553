/**
 * melseg's training loop. One run = one model x loss on one dataset split:
 *
 *   config      resolve the model, loss, size, width; name the run; pick its folders
 *   data        load (decode once, cached), split (seeded or given), batch with augmentation workers
 *   graphs      build or reuse the fused train-step graph and the eval graph
 *   state       fresh seeded weights, or last.ckpt when resuming
 *   per epoch   set lr -> train steps (forward/backward/AdamW in one graph run) -> validate ->
 *               scheduler -> checkpoint last (and best, with a prediction grid) -> results CSV
 *   end         optionally score best.ckpt on the test split
 *
 * Every epoch's data order and augmentation are pure functions of (seed, epoch, sample), the
 * optimizer and scheduler state live in last.ckpt, and the results rows are rewritten from the saved
 * history, so a killed run resumed with `resume: true` ends with the same weights and rows.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { BatchLoader, Dataset, loadDataset, loadSplit, makeSplit, saveSplit, Split, indicesOf } from '../data';
import { ensureGraphs, GRAPH_FILES, parameterSpecs, resolveConfig, ResolvedConfig } from '../graphs';
import * as N from '../onnx/names';
import { cpuFallbacks } from '../onnx/providers';
import { nchwcBlockSize } from '../onnx/cpu';
import { ReduceLROnPlateau, PlateauState } from '../optim/plateau';
import { predictionGrid } from '../report/grid';
import { ResultRow, startFresh, upsertRunRows } from '../report/results';
import { createProgress } from '../util/progress';
import { writeFileAtomic } from '../util/atomic';
import { loadCheckpoint, saveCheckpoint } from './checkpoint';
import { Device, openSession } from '../onnx/session';
import { ModelState } from './state';
import { evaluateSamples, SplitEvaluation } from './validate';

export interface TrainOptions {
  model: number | string;
  loss: number | string;
  /** Dataset: a PH2 or ISIC-style folder, or `synthetic[:N]`. */
  data: string;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  imageSize?: number;
  width?: number;
  seed?: number;
  device?: Device;
  /**
   * CPU only: run the narrow convolutions on onnxruntime's blocked com.microsoft.nchwc kernels (true)
   * or never (false); same function, other kernels. Default: the CPU pipeline's measured rule
   * (src/graphs/pipeline.ts).
   */
  nchwc?: boolean;
  /** Root for this run's outputs: <out>/artifacts/<run>/ and <out>/results.csv. Default: artifacts/ and results/. */
  out?: string;
  /** Results CSV (default results/results.csv, or <out>/results.csv). */
  resultsFile?: string;
  /** The study's --new_dataframe 1: move the results CSV aside (kept as .bak) and start a fresh one. */
  newDataframe?: boolean;
  /** The study's --save_model: write best.ckpt and prediction grids (last.ckpt is always kept for --resume). */
  saveModel?: boolean;
  /** The study's --evaluate: score best.ckpt on the test split at the end. */
  evaluate?: boolean;
  augment?: boolean;
  /** Continue from <run>/last.ckpt if it exists. */
  resume?: boolean;
  /** JSON split file {train, valid, test}; default a seeded split saved with the run. */
  split?: string;
  /** Fractions of a generated split (default 0.75/0.125/0.125). */
  splitFractions?: [number, number, number];
  runId?: string;
  /** Folder of decoded-dataset caches (null: none). */
  cacheDir?: string | null;
  /** Graph cache root (default graphs/). */
  graphsDir?: string;
  /** Augmentation worker threads (default 1; 0 = in this thread). */
  workers?: number;
  /** Stop after this many epochs of this invocation (tests: simulate an interruption). */
  stopAfterEpochs?: number;
  log?: (line: string) => void;
  /** Called after each finished epoch (its checkpoint and CSV rows are written by then). */
  onEpoch?: (rec: EpochRecord, epochs: number) => void;
  /** Progress bars (default: when stderr is a terminal or plain lines otherwise); false = none. */
  progress?: boolean;
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  validLoss: number;
  iou: number;
  lr: number;
  seconds: number;
  imagesPerSecond: number;
}

interface TrainerState {
  epoch: number;
  plateau: PlateauState;
  history: EpochRecord[];
  best: { epoch: number; iou: number } | null;
  split: Split;
  dataset: string;
}

export interface TrainResult {
  runId: string;
  runDir: string;
  resultsFile: string;
  history: EpochRecord[];
  best: { epoch: number; iou: number } | null;
  bestCheckpoint: string | null;
  lastCheckpoint: string;
  grid: string | null;
  test?: SplitEvaluation;
  resumedFrom?: number;
}

export class NaNLossError extends Error {}

/** Run ids name the configuration, so a sweep or --resume finds a run again. */
export function defaultRunId(c: ResolvedConfig, seed: number): string {
  return `${c.model.name}_${c.loss.name}_s${c.imageSize}_w${c.width}_seed${seed}`;
}

export function runPaths(opts: { out?: string; resultsFile?: string }, runId: string) {
  const artifacts = opts.out ? path.join(opts.out, 'artifacts') : 'artifacts';
  const results = opts.resultsFile ?? (opts.out ? path.join(opts.out, 'results.csv') : path.join('results', 'results.csv'));
  const runDir = path.join(artifacts, runId);
  return { runDir, results, last: path.join(runDir, 'last.ckpt'), best: path.join(runDir, 'best.ckpt'), split: path.join(runDir, 'split.json') };
}

function resolveSplit(dataset: Dataset, opts: TrainOptions, saved: Split | null, seed: number): Split {
  if (saved) return saved;
  if (opts.split) return loadSplit(opts.split, dataset.ids);
  const s = makeSplit(dataset.ids, { seed, fractions: opts.splitFractions });
  if (s.train.length === 0) throw new Error(`dataset ${opts.data} has ${dataset.ids.length} samples: too few to train on; add images or use --data synthetic`);
  if (s.valid.length === 0) throw new Error(`dataset ${opts.data}: the split leaves no validation images; use more images or a --split file with a "valid" list`);
  return s;
}

/** The CPU's NCHWc block size for --nchwc, or an error saying why that lowering cannot run here. */
async function nchwcLowering(device: Device): Promise<number> {
  if (device !== 'cpu') throw new Error(`--nchwc with --device ${device}: the NCHWc lowering uses onnxruntime's CPU-only com.microsoft.nchwc kernels; drop --nchwc on ${device}`);
  const block = await nchwcBlockSize();
  if (!block) throw new Error('--nchwc: this onnxruntime-node build has no com.microsoft.nchwc kernels (or this CPU lacks AVX2); train without --nchwc');
  return block;
}

export async function train(opts: TrainOptions): Promise<TrainResult> {
  const log = opts.log ?? ((s: string) => console.log(s));
  // config
  const seed = opts.seed ?? 0;
  const device = opts.device ?? 'cpu';
  if (opts.nchwc) await nchwcLowering(device);
  const c = resolveConfig({ model: opts.model, loss: opts.loss, imageSize: opts.imageSize, width: opts.width, seed, nchwc: opts.nchwc });
  const epochs = opts.epochs ?? 20;
  const batchSize = opts.batchSize ?? 25;
  const baseLr = opts.lr ?? 3e-4;
  if (!(epochs >= 1) || !Number.isInteger(epochs)) throw new Error(`epochs ${epochs}: expected a whole number >= 1`);
  if (!(batchSize >= 1) || !Number.isInteger(batchSize)) throw new Error(`batch size ${batchSize}: expected a whole number >= 1`);
  if (!(baseLr > 0)) throw new Error(`learning rate ${baseLr}: expected a positive number such as 3e-4`);
  const runId = opts.runId ?? defaultRunId(c, seed);
  const paths = runPaths(opts, runId);
  fs.mkdirSync(paths.runDir, { recursive: true });

  // state (read first: a resumed run keeps its split and history)
  const specs = parameterSpecs(c);
  let state: ModelState;
  let ts: TrainerState | null = null;
  if (opts.resume && fs.existsSync(paths.last)) {
    const ck = loadCheckpoint(paths.last);
    state = ModelState.fromCheckpoint(ck, specs, c);
    ts = ck.trainerState as TrainerState;
    if (ts.dataset !== opts.data) {
      throw new Error(
        `${paths.last} belongs to a run trained on --data ${ts.dataset}, not ${opts.data}; resume with the same --data, ` +
          `or start a new run (another --run-id or --out, or without --resume)`,
      );
    }
    log(`resuming ${runId} after epoch ${ts.epoch} from ${paths.last}`);
  } else {
    if (opts.resume) log(`no ${paths.last} yet: starting ${runId} from scratch`);
    state = ModelState.fresh(c, specs);
  }
  if (opts.newDataframe && !ts) {
    const bak = await startFresh(paths.results);
    if (bak) log(`started a fresh ${paths.results} (the old one is kept as ${bak})`);
  }

  // graphs
  const graphs = await ensureGraphs(c, { root: opts.graphsDir, device, kinds: ['trainStep', 'eval'], log });
  const stepInputs = graphs.manifest.graphs.trainStep.inputs;
  const evalInputs = graphs.manifest.graphs.eval.inputs;
  const { fallback } = cpuFallbacks(device, graphs.manifest.graphs.trainStep.ops ?? []);
  if (fallback.length) log(`note: ${device} has no kernel for ${fallback.join(', ')} (in the training graph); onnxruntime runs those nodes on the CPU`);
  const trainSession = await openSession(path.join(graphs.dir, GRAPH_FILES.trainStep), device);
  const evalSession = await openSession(path.join(graphs.dir, GRAPH_FILES.eval), device);
  const paramCount = specs.filter((p) => p.trainable).reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
  log(`model: ${c.model.name} x ${c.loss.name}, image ${c.imageSize}, width ${c.width}, ${paramCount.toLocaleString('en-US')} parameters, device ${device}`);

  // data
  const progress = opts.progress !== false;
  const bars: { decode?: ReturnType<typeof createProgress> } = {};
  let decoded = 0;
  const dataset = await loadDataset(opts.data, {
    imageSize: c.imageSize,
    cacheDir: opts.cacheDir,
    onProgress: (done, total) => {
      if (!progress || done === total && decoded === 0) return; // a cache hit reports (N, N) once
      bars.decode ??= createProgress({ total, label: 'decode', unit: 'img' });
      bars.decode.tick(done - decoded);
      decoded = done;
    },
  });
  bars.decode?.stop();
  const split = resolveSplit(dataset, opts, ts?.split ?? null, seed);
  await saveSplit(paths.split, split);
  const trainIdx = indicesOf(dataset.ids, split.train);
  const validIdx = indicesOf(dataset.ids, split.valid);
  log(`data: ${dataset.layout} ${dataset.root} (${dataset.ids.length} images at ${c.imageSize} px${dataset.fromCache ? ', from cache' : ''}); split ${split.train.length}/${split.valid.length}/${split.test.length}`);

  const plateau = ts ? ReduceLROnPlateau.fromState(ts.plateau) : new ReduceLROnPlateau(baseLr, { mode: 'max' });
  const history: EpochRecord[] = ts ? [...ts.history] : [];
  let best = ts?.best ?? null;
  const startEpoch = (ts?.epoch ?? 0) + 1;
  const loader = new BatchLoader(dataset, trainIdx, { batchSize, seed, mode: 'train', augment: opts.augment !== false, workers: opts.workers ?? 1 });
  const gridIdx = validIdx.slice(0, 6);
  let grid: string | null = null;
  const S = c.imageSize;
  const rowOf = (h: EpochRecord): ResultRow => ({
    train_loss: h.trainLoss,
    valid_loss: h.validLoss,
    metric: h.iou,
    model: c.model.name,
    criterion: c.loss.name,
    epoch: h.epoch,
    lr: h.lr,
    seconds: h.seconds,
    images_per_s: h.imagesPerSecond,
    run: runId,
  });

  try {
    for (let epoch = startEpoch; epoch <= epochs; epoch++) {
      if (opts.stopAfterEpochs !== undefined && epoch - startEpoch >= opts.stopAfterEpochs) break;
      // set lr
      const lr = plateau.lr;
      const t0 = Date.now();
      const bar = progress ? createProgress({ total: trainIdx.length, label: `epoch ${epoch}/${epochs}`, unit: 'img' }) : null;
      // forward/backward/update, one graph run per batch
      let lossSum = 0;
      let seen = 0;
      let trainMs = 0;
      for await (const b of loader.epoch(epoch - 1)) {
        const ts0 = Date.now();
        const out = await trainSession.run({
          ...state.feeds(stepInputs),
          [N.IMAGE]: new ort.Tensor('float32', b.image, [b.count, 3, S, S]),
          [N.MASK]: new ort.Tensor('float32', b.mask, [b.count, 1, S, S]),
          [N.LR]: new ort.Tensor('float32', Float32Array.of(lr), []),
          [N.STEP]: new ort.Tensor('float32', Float32Array.of(state.step + 1), []),
        });
        const loss = out[N.LOSS].data[0] as number;
        if (!Number.isFinite(loss)) {
          throw new NaNLossError(
            `epoch ${epoch}, batch ${b.batch + 1}: the ${c.loss.name} loss is ${loss}; the run stopped without updating the weights. ` +
              `The last good state is ${fs.existsSync(paths.last) ? paths.last : 'the initial weights (no epoch finished yet)'}. ` +
              `Try a lower --lr (now ${lr}) or another loss, then --resume.`,
          );
        }
        state.absorb(out);
        trainMs += Date.now() - ts0;
        lossSum += loss * b.count;
        seen += b.count;
        bar?.tick(b.count, { loss: loss.toFixed(4) });
      }
      bar?.stop();
      // evaluate
      const gridProbs = new Map<number, Float32Array>();
      const val = await evaluateSamples(evalSession, evalInputs, state, dataset, validIdx, {
        batchSize,
        onProbabilities: (indices, prob) => {
          indices.forEach((idx, k) => {
            if (gridIdx.includes(idx)) gridProbs.set(idx, prob.slice(k * S * S, (k + 1) * S * S));
          });
        },
      });
      const seconds = (Date.now() - t0) / 1000;
      const rec: EpochRecord = {
        epoch,
        trainLoss: lossSum / Math.max(seen, 1),
        validLoss: val.loss,
        iou: val.mean.iou,
        lr,
        seconds,
        imagesPerSecond: seen / Math.max(trainMs / 1000, 1e-9),
      };
      history.push(rec);
      plateau.step(rec.iou);
      log(
        `epoch ${epoch}/${epochs}: train loss ${rec.trainLoss.toFixed(4)}, valid loss ${rec.validLoss.toFixed(4)}, ` +
          `valid IoU ${rec.iou.toFixed(4)}, lr ${lr.toExponential(1)}, ${seconds.toFixed(1)} s, ${rec.imagesPerSecond.toFixed(1)} img/s`,
      );
      // checkpoint: best (with a prediction grid), then last, then the CSV rows
      const isBest = !best || rec.iou > best.iou;
      if (isBest) best = { epoch, iou: rec.iou };
      const metaExtra = { epoch, step: state.step, bestMetric: best!.iou, runId, dataset: opts.data };
      if (isBest && opts.saveModel !== false) {
        await saveCheckpoint(paths.best, state.toCheckpoint(c, metaExtra, { optimizer: false }));
        grid = path.join(paths.runDir, 'predictions_best.png');
        const items = gridIdx.map((idx) => ({
          image: dataset.images.subarray(idx * S * S * 3, (idx + 1) * S * S * 3),
          prob: gridProbs.get(idx)!,
          mask: dataset.masks.subarray(idx * S * S, (idx + 1) * S * S),
          id: dataset.ids[idx],
        }));
        await predictionGrid(items, S, path.join(paths.runDir, `predictions_epoch_${String(epoch).padStart(3, '0')}.png`));
        fs.copyFileSync(path.join(paths.runDir, `predictions_epoch_${String(epoch).padStart(3, '0')}.png`), grid);
      }
      const trainerState: TrainerState = { epoch, plateau: plateau.state(), history, best, split, dataset: opts.data };
      await saveCheckpoint(paths.last, state.toCheckpoint(c, metaExtra, { optimizer: true, trainerState }));
      await upsertRunRows(paths.results, runId, history.map(rowOf));
      opts.onEpoch?.(rec, epochs);
    }
    // A run that had already finished: make sure its rows are in this results file.
    if (ts && startEpoch > epochs && history.length) await upsertRunRows(paths.results, runId, history.map(rowOf));
  } finally {
    await loader.close();
  }
  await writeFileAtomic(path.join(paths.runDir, 'history.json'), JSON.stringify({ runId, config: { model: c.model.name, loss: c.loss.name, imageSize: c.imageSize, width: c.width, seed, epochs, batchSize, lr: baseLr }, history }, null, 2));

  const result: TrainResult = {
    runId,
    runDir: paths.runDir,
    resultsFile: paths.results,
    history,
    best,
    bestCheckpoint: fs.existsSync(paths.best) ? paths.best : null,
    lastCheckpoint: paths.last,
    grid: grid ?? (fs.existsSync(path.join(paths.runDir, 'predictions_best.png')) ? path.join(paths.runDir, 'predictions_best.png') : null),
    resumedFrom: ts ? ts.epoch : undefined,
  };
  // evaluate on the test split
  if (opts.evaluate && history.length === epochs && result.bestCheckpoint && split.test.length) {
    const bestState = ModelState.fromCheckpoint(loadCheckpoint(result.bestCheckpoint), specs, c);
    result.test = await evaluateSamples(evalSession, evalInputs, bestState, dataset, indicesOf(dataset.ids, split.test), { batchSize });
    const m = result.test.mean;
    log(`test (${split.test.length} images, best.ckpt from epoch ${best!.epoch}): IoU ${m.iou.toFixed(4)}, Dice ${m.dice.toFixed(4)}, accuracy ${m.accuracy.toFixed(4)}, sensitivity ${m.sensitivity.toFixed(4)}, specificity ${m.specificity.toFixed(4)}`);
  }
  return result;
}
