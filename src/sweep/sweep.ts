/**
 * A sweep: every selected model x loss, trained with the same data, split, seed and settings, into one
 * results CSV, then charted. The library behind `melseg sweep`.
 *
 * Layout (root = --out, or results/ without it; artifacts = <out>/artifacts, or artifacts/):
 *   <root>/results.csv                       rows of every run (a shard: results.shard-<i>-of-<n>.csv)
 *   <root>/sweep.json                        sweep state (a shard: sweep.shard-<i>-of-<n>.json), see state.ts
 *   <root>/sweep_split.json                  the one seeded split every run uses (unless --split is given)
 *   <root>/curves.png, curves_top.png, metrics.png, report.html    charts (not for a shard: merge first)
 *   <artifacts>/<run>/last.ckpt, best.ckpt, predictions_best.png  per run (see train)
 *
 * Resuming: a re-run of the same sweep (same recipe, see state.ts) skips the runs whose last.ckpt holds all
 * their epochs (restoring their CSV rows from the checkpoint's history if the CSV lacks them), resumes an
 * interrupted run from its last.ckpt, and starts the rest. The trainer rewrites a run's rows from its saved
 * history (upsertRunRows), so killing and re-running never duplicates or loses a row.
 *
 * --new-dataframe 1 applies when a sweep STARTS (no state file, a finished sweep, or a different recipe):
 * the CSV is moved aside (startFresh keeps it as .bak) and every run trains from scratch. Re-running an
 * interrupted sweep with the same flags resumes it instead; the state file is how it knows.
 *
 * Sharding: combination k (its position in the model-major list of the selection) belongs to shard
 * k % n. Shards share nothing they write but the (identical) split file, so they can run at once on
 * separate machines over a shared folder; `melseg merge` combines their CSVs.
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadDataset, makeSplit } from '../data';
import { resolveConfig } from '../graphs';
import { ChartFiles, ResultRow, drawCharts, formatResultsCsv, readResults, startFresh, upsertRunRows } from '../report';
import { EpochRecord, NaNLossError, TrainOptions, defaultRunId, runPaths, train } from '../train/trainer';
import { writeFileAtomic } from '../util/atomic';
import { formatDuration } from '../util/progress';
import { SweepClock } from './eta';
import { readRunProgress, RunProgress } from './progress-of-run';
import { gridsFor, settingsFor } from './report';
import { Shard, inShard, parseShard, shardSuffix, toLossList, toModelList } from './spec';
import { SweepRecipe, SweepState, readState, recipeDifferences, splitRecipe, writeState } from './state';

/** Settings every run of the sweep shares, with the trainer's meaning. */
type SharedRunOptions = Pick<TrainOptions, 'data' | 'epochs' | 'batchSize' | 'lr' | 'imageSize' | 'width' | 'seed' | 'device' | 'nchwc'>;

export interface SweepOptions extends SharedRunOptions {
  /** Model indices/names, or a spec such as '0-3' or '1,3' (default all). */
  models?: string | readonly (number | string)[];
  /** Loss indices/names, or a spec such as '0-14' or '4,5,9-14' (default all). */
  losses?: string | readonly (number | string)[];
  /** Root of everything the sweep writes (see the layout above); default results/ and artifacts/. */
  out?: string;
  /** A split file for every run; default one seeded split saved as <root>/sweep_split.json. */
  split?: string;
  splitFractions?: [number, number, number];
  augment?: boolean;
  workers?: number;
  saveModel?: boolean;
  evaluate?: boolean;
  /** The study's --new_dataframe 1, applied when the sweep starts (see above). */
  newDataframe?: boolean;
  /** This process's part: {index, count} or 'i/n'. */
  shard?: Shard | string;
  /** Draw the charts at the end (default true; never for a shard). */
  charts?: boolean;
  top?: number;
  title?: string;
  cacheDir?: string | null;
  graphsDir?: string;
  /** Tests: stop after this many epochs trained in this invocation (may cut a run in the middle). */
  stopAfterEpochs?: number;
  /** Tests: stop after this many runs completed in this invocation. */
  stopAfterCombinations?: number;
  /** Per-run log lines (the trainer's). Default console.log. */
  log?: (line: string) => void;
  /** The sweep's progress lines. Default: `log`. */
  status?: (line: string) => void;
  /** The trainer's progress bars (default true). */
  progress?: boolean;
}

export interface SweepCombination {
  /** Position in the model-major list of the whole selection (what sharding splits on). */
  index: number;
  modelId: number;
  lossId: number;
  model: string;
  loss: string;
  runId: string;
}

export type RunOutcome = 'trained' | 'resumed' | 'skipped' | 'failed' | 'not run';

export interface SweepRunReport extends SweepCombination {
  outcome: RunOutcome;
  /** Epochs in the run's checkpoint at the end. */
  epochs: number;
  error?: string;
}

export interface SweepResult {
  resultsFile: string;
  stateFile: string;
  splitFile: string;
  artifactsDir: string;
  /** This invocation continued an interrupted sweep. */
  resumedSweep: boolean;
  /** Where --new-dataframe 1 moved the old CSV. */
  backup: string | null;
  /** The runs of this process (its shard's, or all). */
  runs: SweepRunReport[];
  /** Combinations in the whole selection. */
  totalCombinations: number;
  /** Stopped early by stopAfterEpochs / stopAfterCombinations. */
  interrupted: boolean;
  complete: boolean;
  charts: ChartFiles | null;
  seconds: number;
}

export function sweepPaths(out: string | undefined, shard: Shard | undefined) {
  const root = out ?? 'results';
  const sfx = shardSuffix(shard);
  return {
    root,
    results: path.join(root, `results${sfx}.csv`),
    state: path.join(root, `sweep${sfx}.json`),
    split: path.join(root, 'sweep_split.json'),
    artifacts: out ? path.join(out, 'artifacts') : 'artifacts',
  };
}

/** Every combination of the selection, model-major (SegNet x all losses, then UNet x all losses, ...). */
export function sweepCombinations(models: readonly number[], losses: readonly number[], imageSize: number, width: number, seed: number): SweepCombination[] {
  const out: SweepCombination[] = [];
  for (const m of models) {
    for (const l of losses) {
      const c = resolveConfig({ model: m, loss: l, imageSize, width, seed });
      out.push({ index: out.length, modelId: m, lossId: l, model: c.model.name, loss: c.loss.name, runId: defaultRunId(c, seed) });
    }
  }
  return out;
}


function rowsFromHistory(c: SweepCombination, history: readonly EpochRecord[]): ResultRow[] {
  return history.map((h) => ({
    train_loss: h.trainLoss,
    valid_loss: h.validLoss,
    metric: h.iou,
    model: c.model,
    criterion: c.loss,
    epoch: h.epoch,
    lr: h.lr,
    seconds: h.seconds,
    images_per_s: h.imagesPerSecond,
    run: c.runId,
  }));
}

function sameData(a: string | undefined, b: string): boolean {
  if (a === undefined) return true;
  const norm = (s: string) => (/^synthetic(:|$)/i.test(s.trim()) ? s.trim().toLowerCase() : path.resolve(s.trim().replace(/[\\/]+$/, '')));
  return norm(a) === norm(b);
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} ${v}: expected a whole number >= 1`);
  return v;
}

export async function runSweep(o: SweepOptions): Promise<SweepResult> {
  const t0 = Date.now();
  const log = o.log ?? ((s: string) => console.log(s));
  const status = o.status ?? log;
  if (!o.data) throw new Error('sweep: --data is required (a PH2 folder, an ISIC-style folder, or synthetic[:N])');

  // configuration
  const models = toModelList(o.models);
  const losses = toLossList(o.losses);
  const shard = typeof o.shard === 'string' ? parseShard(o.shard) : o.shard;
  const epochs = positiveInt('--epochs', o.epochs ?? 20);
  const batchSize = positiveInt('--batch-size', o.batchSize ?? 25);
  const lr = o.lr ?? 3e-4;
  if (!(lr > 0)) throw new Error(`--lr ${lr}: expected a positive number such as 3e-4`);
  const seed = o.seed ?? 0;
  const imageSize = o.imageSize ?? 256;
  const width = o.width ?? 1;
  const augment = o.augment !== false;
  const all = sweepCombinations(models, losses, imageSize, width, seed); // validates size and width
  const mine = all.filter((c) => inShard(c.index, shard));
  const paths = sweepPaths(o.out, shard);
  const recipe: SweepRecipe = { data: o.data, imageSize, width, seed, batchSize, lr, augment, split: splitRecipe(o.split, o.splitFractions) };
  const where = shard ? `shard ${shard.index}/${shard.count}: ` : '';

  // state: a new sweep, or the resume of an interrupted one
  const prev = readState(paths.state);
  const diffs = prev ? recipeDifferences(prev.recipe, recipe) : [];
  let resumedSweep = false;
  let fresh = !!o.newDataframe;
  if (prev && diffs.length > 0 && !o.newDataframe) {
    throw new Error(
      `${paths.state} records a different sweep in ${paths.root} (${diffs.join('; ')}). ` +
        `Its checkpoints would be continued with other settings. Use another --out, run it with its own settings, ` +
        `or pass --new-dataframe 1 to start a new sweep here (the CSV is kept as .bak; every run retrains from scratch).`,
    );
  }
  if (prev && diffs.length === 0 && prev.status === 'running') {
    resumedSweep = true;
    fresh = prev.fresh;
    const done = Object.values(prev.runs).filter((s) => s === 'done').length;
    log(`${where}resuming the sweep started ${prev.startedAt} (${done} run(s) done)${o.newDataframe ? '; --new-dataframe 1 applies only when a sweep starts, so the results CSV is kept' : ''}`);
  }
  let backup: string | null = null;
  if (!resumedSweep && fresh) {
    // Before the state is written: killed in between, the re-run starts fresh again (harmless).
    backup = await startFresh(paths.results);
    if (backup) log(`${where}started a fresh ${paths.results} (the old one is kept as ${backup})`);
  }
  const now = new Date().toISOString();
  const state: SweepState = resumedSweep
    ? prev!
    : { version: 1, recipe, fresh, status: 'running', startedAt: now, updatedAt: now, epochs, models, losses, shard: shard ?? null, resultsFile: paths.results, runs: {}, errors: {} };
  Object.assign(state, { epochs, models, losses, shard: shard ?? null, resultsFile: paths.results, status: 'running' as const });
  await writeState(paths.state, state);
  if (shard && !fs.existsSync(paths.results)) await writeFileAtomic(paths.results, formatResultsCsv([])); // merge finds every shard's file

  // the split every run uses
  const splitFile = o.split ?? paths.split;
  if (!o.split && !(resumedSweep && fs.existsSync(paths.split))) {
    const ds = await loadDataset(o.data, { imageSize, cacheDir: o.cacheDir });
    const s = makeSplit(ds.ids, { seed, fractions: o.splitFractions });
    if (s.train.length === 0 || s.valid.length === 0) {
      throw new Error(`dataset ${o.data} has ${ds.ids.length} samples: the split leaves ${s.train.length} to train on and ${s.valid.length} to validate on; use more images or a --split file`);
    }
    const text = JSON.stringify({ train: s.train, valid: s.valid, test: s.test }, null, 2) + '\n';
    const old = fs.existsSync(paths.split) ? fs.readFileSync(paths.split, 'utf8') : null;
    if (old !== text) await writeFileAtomic(paths.split, text); // shards write identical bytes
    log(`${where}split ${s.train.length}/${s.valid.length}/${s.test.length} (seed ${seed}) saved as ${paths.split}; every run uses it`);
  }

  // what each run still needs
  const existing = fs.existsSync(paths.results) ? readResults(paths.results) : [];
  const rowEpochs = new Map<string, Set<number>>();
  for (const r of existing) {
    if (!rowEpochs.has(r.run)) rowEpochs.set(r.run, new Set());
    rowEpochs.get(r.run)!.add(r.epoch);
  }
  const plan = mine.map((c) => {
    const rp = runPaths({ out: o.out, resultsFile: paths.results }, c.runId);
    // A fresh sweep ignores checkpoints of runs it has not started itself.
    const useCheckpoint = !fresh || state.runs[c.runId] !== undefined;
    const progress: RunProgress | null = useCheckpoint ? readRunProgress(rp.last) : null;
    if (progress && progress.epoch > 0 && !sameData(progress.dataset, o.data)) {
      throw new Error(
        `${rp.last} was trained on ${progress.dataset}, but this sweep uses ${o.data}. ` +
          `Use another --out for this dataset, or --new-dataframe 1 to retrain every run here from scratch.`,
      );
    }
    return { c, rp, useCheckpoint, progress, finished: !!progress && progress.epoch >= epochs };
  });
  const clock = new SweepClock(plan.map((p) => ({ key: p.c.runId, model: p.c.model, remaining: Math.max(0, epochs - (p.progress?.epoch ?? 0)) })));
  for (const p of plan) for (const h of p.progress?.history ?? []) clock.observeEpoch(p.c.model, h.seconds);
  const resumable = plan.filter((p) => !p.finished && (p.progress?.epoch ?? 0) > 0).length;
  log(
    `${where}sweep of ${all.length} combination(s) (${models.length} model(s) x ${losses.length} loss(es))` +
      `${shard ? `, ${mine.length} in this shard` : ''}, ${epochs} epoch(s) each: ` +
      `${plan.filter((p) => p.finished).length} finished earlier, ${resumable} to resume, ${plan.length - plan.filter((p) => p.finished).length - resumable} to start; ` +
      `results ${paths.results}, checkpoints ${paths.artifacts}/`,
  );

  // the runs
  const reports: SweepRunReport[] = plan.map((p) => ({ ...p.c, outcome: 'not run', epochs: p.progress?.epoch ?? 0 }));
  let epochBudget = o.stopAfterEpochs ?? Infinity;
  let runBudget = o.stopAfterCombinations ?? Infinity;
  let interrupted = false;
  const n = plan.length;
  for (let k = 0; k < n; k++) {
    const p = plan[k];
    const rep = reports[k];
    const label = `${p.c.model} x ${p.c.loss}`;
    if (p.finished) {
      const have = rowEpochs.get(p.c.runId);
      const history = p.progress!.history;
      if (!history.every((h) => have?.has(h.epoch))) {
        await upsertRunRows(paths.results, p.c.runId, rowsFromHistory(p.c, history));
        log(`restored ${history.length} row(s) of ${p.c.runId} in ${paths.results} from ${p.rp.last}`);
      }
      if (state.runs[p.c.runId] !== 'done') {
        state.runs[p.c.runId] = 'done';
        await writeState(paths.state, state);
      }
      rep.outcome = 'skipped';
      clock.runDropped(p.c.runId);
      status(clock.line(k + 1, n, label, `finished earlier (${p.progress!.epoch} epochs in ${p.rp.last}), skipped`));
      continue;
    }
    if (epochBudget <= 0 || runBudget <= 0) {
      interrupted = true;
      break;
    }
    const resume = p.useCheckpoint;
    if (!resume && fs.existsSync(p.rp.last)) {
      // A fresh sweep retrains this run: drop the old last.ckpt BEFORE recording the start, so that a
      // kill in between never resumes another sweep's weights.
      fs.rmSync(p.rp.last, { force: true });
    }
    const startedAfter = p.progress?.epoch ?? 0;
    state.runs[p.c.runId] = 'started';
    delete state.errors[p.c.runId];
    await writeState(paths.state, state);
    clock.runStarted(p.c.runId);
    status(clock.line(k + 1, n, label, startedAfter > 0 ? `resuming after epoch ${startedAfter}/${epochs}` : 'starting'));
    const tRun = Date.now();
    let epochSeconds = 0;
    try {
      const r = await train({
        model: p.c.modelId,
        loss: p.c.lossId,
        data: o.data,
        epochs,
        batchSize,
        lr,
        imageSize,
        width,
        seed,
        device: o.device,
        nchwc: o.nchwc,
        out: o.out,
        resultsFile: paths.results,
        split: splitFile,
        augment,
        workers: o.workers,
        saveModel: o.saveModel,
        evaluate: o.evaluate,
        resume,
        runId: p.c.runId,
        cacheDir: o.cacheDir,
        graphsDir: o.graphsDir,
        stopAfterEpochs: Number.isFinite(epochBudget) ? epochBudget : undefined,
        progress: o.progress,
        log,
        onEpoch: (rec, total) => {
          epochSeconds += rec.seconds;
          clock.epochDone(p.c.runId, rec.seconds);
          status(clock.line(k + 1, n, label, `epoch ${rec.epoch}/${total}`));
        },
      });
      const trainedNow = r.history.length - (r.resumedFrom ?? 0);
      epochBudget -= trainedNow;
      rep.epochs = r.history.length;
      if (r.history.length < epochs) {
        interrupted = true;
        rep.outcome = startedAfter > 0 ? 'resumed' : 'trained';
        break;
      }
      rep.outcome = startedAfter > 0 ? 'resumed' : 'trained';
      state.runs[p.c.runId] = 'done';
      runBudget -= 1;
      clock.runEnded(p.c.runId, (Date.now() - tRun) / 1000, epochSeconds);
    } catch (e) {
      if (!(e instanceof NaNLossError)) throw e;
      // One diverging loss must not stop a 60-run sweep: record it, go on, report it at the end.
      rep.outcome = 'failed';
      rep.error = e.message;
      state.runs[p.c.runId] = 'failed';
      state.errors[p.c.runId] = e.message;
      clock.runDropped(p.c.runId);
      log(`${p.c.runId} failed: ${e.message}`);
    }
    await writeState(paths.state, state);
  }

  const complete = !interrupted && mine.every((c) => state.runs[c.runId] === 'done');
  if (complete) {
    state.status = 'complete';
    await writeState(paths.state, state);
  }
  status(`${where}sweep ${complete ? 'complete' : interrupted ? 'stopped early' : 'finished with failures'} after ${formatDuration((Date.now() - t0) / 1000)}`);

  // charts
  let charts: ChartFiles | null = null;
  if (!interrupted && !shard && o.charts !== false) {
    const rows = fs.existsSync(paths.results) ? readResults(paths.results) : [];
    if (rows.length > 0) {
      const grids = gridsFor(rows, [paths.artifacts]);
      const title =
        o.title ??
        `melseg sweep: ${models.length} model(s) x ${losses.length} loss(es), ${o.data}, ${imageSize} px, width ${width}, ${epochs} epoch(s)`;
      charts = await drawCharts(rows, paths.root, { grids, settings: settingsFor(rows, [paths.artifacts]), title, top: o.top });
    }
  }

  return {
    resultsFile: paths.results,
    stateFile: paths.state,
    splitFile,
    artifactsDir: paths.artifacts,
    resumedSweep,
    backup,
    runs: reports,
    totalCombinations: all.length,
    interrupted,
    complete,
    charts,
    seconds: (Date.now() - t0) / 1000,
  };
}
