/**
 * A sweep: every selected model x loss, trained with the same data, split, seed and settings (one
 * recipe, src/train/recipe.ts), into one results CSV, then charted. The library behind `melseg sweep`.
 *
 * Layout (root = --out, or results/ without it; artifacts = <out>/artifacts, or artifacts/):
 *   <root>/results.csv                       rows of every run (a shard: results.shard-<i>-of-<n>.csv)
 *   <root>/sweep.json                        sweep state (a shard: sweep.shard-<i>-of-<n>.json), see state.ts
 *   <root>/sweep_split.json                  the one seeded split every run uses (unless --split-file is given)
 *   <root>/curves.png, curves_top.png, metrics.png, report.html    charts (not for a shard: merge first)
 *   <artifacts>/<run>/run.json, last.ckpt, best.ckpt, predictions_best.png  per run (see train)
 *
 * Phases: settings -> sweep state (new, or the resume of an interrupted one) -> the split -> the plan
 * (what each run still needs, from its last.ckpt) -> the runs -> the charts.
 *
 * Resuming: a re-run of the same sweep skips the runs whose last.ckpt holds all their epochs (restoring
 * their CSV rows from the checkpoint's history if the CSV lacks them), resumes an interrupted run from
 * its last.ckpt (mid-epoch after a signal), and starts the rest. The trainer rewrites a run's rows from
 * its saved history, so killing and re-running never duplicates or loses a row.
 *
 * --new-dataframe 1 applies when a sweep STARTS (no state file, a finished sweep, or a different recipe):
 * the CSV is moved aside (kept as .bak) and every run trains from scratch, its older run folder moved
 * aside (never deleted). Re-running an interrupted sweep with the same flags resumes it instead.
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
import { describeEpochsFrom, resolveSettings, RunSettings, SettingsInput } from '../train/recipe';
import { DivergedError, EpochRecord, RuntimeOptions, defaultRunId, outputRoots, resolveRunSplit, train } from '../train/trainer';
import { runPaths, tidyRunFolder, type RunPaths } from '../train/run-folder';
import { evaluateTrainedRun } from '../infer/trained-run';
import { writeFileAtomic } from '../util/atomic';
import { dataCacheDir } from '../util/paths';
import { formatDuration } from '../util/progress';
import { SweepClock } from './eta';
import { readRunProgress, RunProgress } from './progress-of-run';
import { evaluationsFor, gridsFor, settingsFor } from './report';
import { Shard, inShard, parseShard, shardSuffix, toLossList, toModelList } from './spec';
import { SweepRecipe, SweepState, readState, recipeDifferences, writeState } from './state';

export interface SweepOptions extends Omit<SettingsInput, 'model' | 'loss'>, Pick<RuntimeOptions, 'device' | 'nchwc' | 'workers' | 'saveModel' | 'newDataframe' | 'cacheDir' | 'graphsDir' | 'signal' | 'progress'> {
  /** The study's --evaluate: score each finished run's best.ckpt on the test split (src/infer/trained-run.ts). */
  evaluate?: boolean;
  /** Model indices/names, or a spec such as '0-3' or '1,3' (default all). */
  models?: string | readonly (number | string)[];
  /** Loss indices/names, or a spec such as '0-14' or '4,5,9-14' (default the study's 0-14). */
  losses?: string | readonly (number | string)[];
  /** Root of everything the sweep writes (see the layout above); default results/ and artifacts/. */
  out?: string;
  /** This process's part: {index, count} or 'i/n'. */
  shard?: Shard | string;
  /** Draw the charts at the end (default true; never for a shard). */
  charts?: boolean;
  top?: number;
  title?: string;
  /** Tests: stop after this many epochs trained in this invocation (may cut a run in the middle). */
  stopAfterEpochs?: number;
  /** Tests: stop after this many runs completed in this invocation. */
  stopAfterCombinations?: number;
  /** Per-run log lines (the trainer's). Default console.log. */
  log?: (line: string) => void;
  /** The sweep's progress lines. Default: `log`. */
  status?: (line: string) => void;
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

/** `completed`: every epoch had been trained, and its last steps (history, test score) were done now. */
export type RunOutcome = 'trained' | 'resumed' | 'completed' | 'skipped' | 'failed' | 'not run';

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
    artifacts: outputRoots({ out }).artifacts,
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
    train_loss: h.trainLoss, valid_loss: h.validLoss, metric: h.iou, model: c.model, criterion: c.loss,
    epoch: h.epoch, lr: h.lr, seconds: h.seconds, images_per_s: h.imagesPerSecond, run: c.runId,
  }));
}

/** The sweep's recipe: its runs' settings less model, loss and epochs (and how they were chosen); with the user's split spec. */
function recipeOf(s: RunSettings): SweepRecipe {
  const { model: _m, loss: _l, epochs: _e, epochsFrom: _f, ...rest } = s;
  return rest;
}

/** A new sweep, or the resume of an interrupted one with the same recipe; another recipe is refused. */
async function openState(o: SweepOptions, p: ReturnType<typeof sweepPaths>, recipe: SweepRecipe, epochs: number, models: number[], losses: number[], shard: Shard | undefined, log: (s: string) => void, where: string) {
  const prev = readState(p.state);
  const diffs = prev ? recipeDifferences(prev.recipe, recipe) : [];
  if (prev && diffs.length > 0 && !o.newDataframe) {
    throw new Error(
      `${p.state} records a different sweep in ${p.root} (${diffs.join('; ')}). ` +
        `Its checkpoints would be continued with other settings. Use another --out, run it with its own settings, ` +
        `or pass --new-dataframe 1 to start a new sweep here (the CSV is kept as .bak; every run retrains from scratch, older run folders moved aside).`,
    );
  }
  const resumed = !!prev && diffs.length === 0 && prev.status === 'running';
  let backup: string | null = null;
  if (resumed) {
    const done = Object.values(prev.runs).filter((s) => s === 'done').length;
    log(`${where}resuming the sweep started ${prev.startedAt} (${done} run(s) done)${o.newDataframe ? '; --new-dataframe 1 applies only when a sweep starts, so the results CSV is kept' : ''}`);
  } else if (o.newDataframe) {
    // Before the state is written: killed in between, the re-run starts fresh again (harmless).
    backup = await startFresh(p.results);
    if (backup) log(`${where}started a fresh ${p.results} (the old one is kept as ${backup})`);
  }
  const now = new Date().toISOString();
  const state: SweepState = resumed
    ? prev
    : { version: 2, recipe, fresh: !!o.newDataframe, status: 'running', startedAt: now, updatedAt: now, epochs, models, losses, shard: shard ?? null, resultsFile: p.results, runs: {}, errors: {} };
  Object.assign(state, { epochs, models, losses, shard: shard ?? null, resultsFile: p.results, status: 'running' as const });
  await writeState(p.state, state);
  if (shard && !fs.existsSync(p.results)) await writeFileAtomic(p.results, formatResultsCsv([])); // merge finds every shard's file
  return { state, resumed, backup };
}

/** The split every run uses: the user's file, or one seeded split saved as <root>/sweep_split.json. */
async function sweepSplit(s: RunSettings, p: ReturnType<typeof sweepPaths>, o: SweepOptions, resumed: boolean, log: (s: string) => void, where: string): Promise<string> {
  if ('file' in s.split) return s.split.file;
  if (resumed && fs.existsSync(p.split)) return p.split;
  const ds = await loadDataset(s.data, { imageSize: s.imageSize, cacheDir: o.cacheDir === undefined ? dataCacheDir() : o.cacheDir });
  const split = resolveRunSplit(ds, s, null);
  const text = JSON.stringify({ train: split.train, valid: split.valid, test: split.test }, null, 2) + '\n';
  const old = fs.existsSync(p.split) ? fs.readFileSync(p.split, 'utf8') : null;
  if (old !== text) await writeFileAtomic(p.split, text); // shards write identical bytes
  log(`${where}split ${split.train.length}/${split.valid.length}/${split.test.length} (seed ${s.seed}) saved as ${p.split}; every run uses it`);
  return p.split;
}

/** Test images of a split file (0 when it has none or cannot be read: the trainer then scores nothing). */
function splitTestCount(file: string): number {
  try {
    const t = (JSON.parse(fs.readFileSync(file, 'utf8')) as { test?: unknown }).test;
    return Array.isArray(t) ? t.length : 0;
  } catch {
    return 0;
  }
}

/**
 * The last steps of a trained run that are not on disk: history.json, and with --evaluate the test
 * score (eval_test*.csv in the run folder, written after the fit by evaluateTrainedRun).
 */
function missingSteps(rp: RunPaths, evaluate: boolean): string[] {
  const missing: string[] = [];
  if (!fs.existsSync(rp.history)) missing.push('history.json');
  if (evaluate && fs.existsSync(rp.best) && !fs.readdirSync(rp.dir).some((f) => /^eval_test(-\d+)?\.csv$/.test(f))) missing.push('its test score');
  return missing;
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} ${v}: expected a whole number >= 1`);
  return v;
}

/** One combination's place in the plan: what of it is on disk and what it still needs. */
export interface PlannedCombination {
  c: SweepCombination;
  rp: RunPaths;
  /** The sweep may continue this run's checkpoints (a fresh sweep moves folders of runs it did not start aside). */
  own: boolean;
  progress: RunProgress | null;
  /** Every epoch trained and its last steps done: the run is skipped. */
  finished: boolean;
  /** The last steps a trained run lacks (missingSteps). */
  missing: string[];
}

/**
 * What each run still needs, read from its folder (last.ckpt, history.json, the test score). It
 * trains and writes nothing, so the plan can be tested alone.
 */
export function planSweep(mine: readonly SweepCombination[], o: { artifacts: string; state: SweepState; epochs: number; scoreTest: boolean }): PlannedCombination[] {
  return mine.map((c) => {
    const rp = runPaths(o.artifacts, c.runId);
    // A fresh sweep does not continue checkpoints of runs it has not started itself: it moves them aside.
    const own = !o.state.fresh || o.state.runs[c.runId] !== undefined;
    const progress: RunProgress | null = own ? readRunProgress(rp.last) : null;
    const trained = !!progress && (progress.epoch >= o.epochs || progress.stoppedEarly);
    // finished means its last steps are done too: a kill after the last epoch's rows leaves them undone
    const missing = trained ? missingSteps(rp, o.scoreTest) : [];
    return { c, rp, own, progress, finished: trained && missing.length === 0, missing };
  });
}

/** What the loop of runs shares: the options, the one recipe, the files, the state, the ETA clock, the logs. */
interface SweepLoop {
  o: SweepOptions;
  base: RunSettings;
  paths: ReturnType<typeof sweepPaths>;
  splitFile: string;
  state: SweepState;
  clock: SweepClock;
  log: (line: string) => void;
  status: (line: string) => void;
  /** Epochs each run has rows for in the results CSV. */
  rowEpochs: Map<string, Set<number>>;
  /** Epochs and runs this invocation may still train (stopAfterEpochs, stopAfterCombinations). */
  budget: { epochs: number; runs: number };
}

export async function runSweep(o: SweepOptions): Promise<SweepResult> {
  const t0 = Date.now();
  const log = o.log ?? ((s: string) => console.log(s));
  const status = o.status ?? log;
  // settings: one recipe for every run (model and loss aside)
  const models = toModelList(o.models);
  const losses = toLossList(o.losses);
  const base = resolveSettings({ ...o, model: models[0], loss: losses[0] });
  const shard = typeof o.shard === 'string' ? parseShard(o.shard) : o.shard;
  const all = sweepCombinations(models, losses, base.imageSize, base.width, base.seed);
  const mine = all.filter((c) => inShard(c.index, shard));
  const paths = sweepPaths(o.out, shard);
  const where = shard ? `shard ${shard.index}/${shard.count}: ` : '';
  if (o.stopAfterEpochs !== undefined) positiveInt('stopAfterEpochs', o.stopAfterEpochs);

  const { state, resumed: resumedSweep, backup } = await openState(o, paths, recipeOf(base), base.epochs, models, losses, shard, log, where);
  const splitFile = await sweepSplit(base, paths, o, resumedSweep, log, where);

  // the plan: what each run still needs
  const plan = planSweep(mine, { artifacts: paths.artifacts, state, epochs: base.epochs, scoreTest: !!o.evaluate && splitTestCount(splitFile) > 0 });
  const clock = new SweepClock(plan.map((p) => ({ key: p.c.runId, model: p.c.model, remaining: p.finished ? 0 : Math.max(0, base.epochs - (p.progress?.epoch ?? 0)) })));
  for (const p of plan) for (const h of p.progress?.history ?? []) clock.observeEpoch(p.c.model, h.seconds);
  const resumable = plan.filter((p) => !p.finished && (p.progress?.epoch ?? 0) > 0).length;
  const finishedBefore = plan.filter((p) => p.finished).length;
  log(
    `${where}sweep of ${all.length} combination(s) (${models.length} model(s) x ${losses.length} loss(es))` +
      `${shard ? `, ${mine.length} in this shard` : ''}, ${base.epochs} epoch(s) each${base.epochsFrom ? ` (${describeEpochsFrom(base.epochsFrom)})` : ''}: ` +
      `${finishedBefore} finished earlier, ${resumable} to resume, ${plan.length - finishedBefore - resumable} to start; ` +
      `results ${paths.results}, checkpoints ${paths.artifacts}/`,
  );

  // the runs
  const loop: SweepLoop = {
    o, base, paths, splitFile, state, clock, log, status, rowEpochs: rowEpochsOf(paths.results),
    budget: { epochs: o.stopAfterEpochs ?? Infinity, runs: o.stopAfterCombinations ?? Infinity },
  };
  const { reports, interrupted } = await runPlan(plan, loop);

  const complete = !interrupted && mine.every((c) => state.runs[c.runId] === 'done');
  if (complete) {
    state.status = 'complete';
    await writeState(paths.state, state);
  }
  status(`${where}sweep ${complete ? 'complete' : interrupted ? 'stopped early' : 'finished with failures'} after ${formatDuration((Date.now() - t0) / 1000)}`);

  // the charts
  const charts = !interrupted && !shard && o.charts !== false ? await sweepCharts(paths, o, base, models.length, losses.length) : null;
  return {
    resultsFile: paths.results, stateFile: paths.state, splitFile, artifactsDir: paths.artifacts, resumedSweep, backup,
    runs: reports, totalCombinations: all.length, interrupted, complete, charts, seconds: (Date.now() - t0) / 1000,
  };
}

function rowEpochsOf(results: string): Map<string, Set<number>> {
  const rowEpochs = new Map<string, Set<number>>();
  for (const r of fs.existsSync(results) ? readResults(results) : []) {
    const have = rowEpochs.get(r.run) ?? new Set<number>();
    have.add(r.epoch);
    rowEpochs.set(r.run, have);
  }
  return rowEpochs;
}

/** The runs in plan order, until a budget runs out or a signal arrives; a diverging run is recorded and passed. */
async function runPlan(plan: readonly PlannedCombination[], l: SweepLoop): Promise<{ reports: SweepRunReport[]; interrupted: boolean }> {
  const reports: SweepRunReport[] = plan.map((p) => ({ ...p.c, outcome: 'not run', epochs: p.progress?.epoch ?? 0 }));
  for (let k = 0; k < plan.length; k++) {
    const p = plan[k];
    if (p.finished) {
      await skipFinished(p, l, k + 1, plan.length);
      reports[k].outcome = 'skipped';
      continue;
    }
    if (l.budget.epochs <= 0 || l.budget.runs <= 0 || l.o.signal?.aborted) return { reports, interrupted: true };
    if (!(await trainPlanned(p, reports[k], l, k + 1, plan.length))) return { reports, interrupted: true };
  }
  return { reports, interrupted: false };
}

/** A run finished earlier: its CSV rows restored from its history if missing, its folder tidied, the state says done. */
async function skipFinished(p: PlannedCombination, l: SweepLoop, k: number, n: number): Promise<void> {
  const { paths, state } = l;
  const have = l.rowEpochs.get(p.c.runId);
  const history = p.progress?.history ?? [];
  if (!history.every((h) => have?.has(h.epoch))) {
    await upsertRunRows(paths.results, p.c.runId, rowsFromHistory(p.c, history));
    l.log(`restored ${history.length} row(s) of ${p.c.runId} in ${paths.results} from ${p.rp.last}`);
  }
  tidyRunFolder(p.rp.dir, l.log);
  if (state.runs[p.c.runId] !== 'done') {
    state.runs[p.c.runId] = 'done';
    await writeState(paths.state, state);
  }
  l.clock.runDropped(p.c.runId);
  l.status(l.clock.line(k, n, `${p.c.model} x ${p.c.loss}`, `finished earlier (${p.progress?.epoch} epochs in ${p.rp.last}), skipped`));
}

/**
 * Train (start, resume or complete) run number `k` of `n`, then score its test split when asked.
 * false: it stopped before its last epoch (a budget of this invocation ran out), so the sweep stops.
 */
async function trainPlanned(p: PlannedCombination, rep: SweepRunReport, l: SweepLoop, k: number, n: number): Promise<boolean> {
  const { o, base, paths, state, clock, log } = l;
  const label = `${p.c.model} x ${p.c.loss}`;
  const startedAfter = p.progress?.epoch ?? 0;
  if (p.missing.length) log(`${p.c.runId} trained all its epochs but lacks ${p.missing.join(' and ')}: completing it`);
  state.runs[p.c.runId] = 'started';
  delete state.errors[p.c.runId];
  await writeState(paths.state, state);
  clock.runStarted(p.c.runId);
  l.status(clock.line(k, n, label, p.missing.length ? `completing (${p.missing.join(', ')})` : startedAfter > 0 ? `resuming after epoch ${startedAfter}/${base.epochs}` : 'starting'));
  const tRun = Date.now();
  let epochSeconds = 0;
  try {
    const r = await train({
      ...o,
      ...base,
      model: p.c.modelId,
      loss: p.c.lossId,
      split: l.splitFile,
      splitFractions: undefined,
      fold: undefined, // a sweep trains each configuration once, on its split
      out: o.out,
      resultsFile: paths.results,
      newDataframe: false, // the sweep's own, applied once when it started
      resume: p.own && fs.existsSync(p.rp.last),
      overwrite: !p.own,
      runId: p.c.runId,
      stopAfterEpochs: Number.isFinite(l.budget.epochs) ? l.budget.epochs : undefined,
      log,
      onEpoch: (rec, total) => {
        epochSeconds += rec.seconds;
        clock.epochDone(p.c.runId, rec.seconds);
        l.status(clock.line(k, n, label, `epoch ${rec.epoch}/${total}`));
      },
    });
    if (o.evaluate) await evaluateTrainedRun(r, { cacheDir: o.cacheDir, graphsDir: o.graphsDir, device: o.device, log });
    l.budget.epochs -= r.history.length - (r.resumedFrom ?? 0);
    rep.epochs = r.history.length;
    rep.outcome = p.missing.length ? 'completed' : startedAfter > 0 ? 'resumed' : 'trained';
    if (r.history.length < base.epochs && !r.stoppedEarly) return false;
    state.runs[p.c.runId] = 'done';
    l.budget.runs -= 1;
    clock.runEnded(p.c.runId, (Date.now() - tRun) / 1000, epochSeconds);
  } catch (e) {
    if (!(e instanceof DivergedError)) throw e;
    // One diverging run must not stop a 60-run sweep: record it, go on, report it at the end.
    rep.outcome = 'failed';
    rep.error = e.message;
    state.runs[p.c.runId] = 'failed';
    state.errors[p.c.runId] = e.message;
    clock.runDropped(p.c.runId);
    log(`${p.c.runId} failed: ${e.message}`);
  }
  await writeState(paths.state, state);
  return true;
}

/** curves.png, curves_top.png, metrics.png and report.html of every row of the results CSV (none without rows). */
async function sweepCharts(paths: ReturnType<typeof sweepPaths>, o: SweepOptions, base: RunSettings, models: number, losses: number): Promise<ChartFiles | null> {
  const rows = fs.existsSync(paths.results) ? readResults(paths.results) : [];
  if (rows.length === 0) return null;
  const grids = gridsFor(rows, [paths.artifacts]);
  const title = o.title ?? `melseg sweep: ${models} model(s) x ${losses} loss(es), ${o.data}, ${base.imageSize} px, width ${base.width}, ${base.epochs} epoch(s)`;
  return drawCharts(rows, paths.root, { grids, settings: settingsFor(rows, [paths.artifacts]), evaluations: evaluationsFor(rows, [paths.artifacts]), title, top: o.top });
}
