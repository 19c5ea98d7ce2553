/**
 * Charting and merging results files (the library behind `melseg chart` and `melseg merge`, also used at
 * the end of a sweep).
 */
import * as fs from 'fs';
import * as path from 'path';
import { drawRunCurves } from '../report/charts/runs';
import { summaryFile, type SummaryRecord } from '../infer/evaluate';
import { runFolderIn } from '../report/html/run-settings';
import { ChartFiles, ResultRow, RunSettingsView, bestPerCombination, drawCharts, markImageSizes, mergeResults, readResults, readRunSettings, sizeInRunId, type EvaluationInput } from '../report';

const HOW_TO_PRODUCE =
  'Results files are written by `melseg train` (one run) and `melseg sweep` (results/results.csv, <out>/results.csv, ' +
  'or results.shard-<i>-of-<n>.csv per shard; combine shards with `melseg merge`).';

/** Throws one error naming every missing results file and how to produce one. */
export function checkResultFiles(files: readonly string[], flag = '--results'): void {
  if (files.length === 0) throw new Error(`${flag}: expected at least one results CSV. ${HOW_TO_PRODUCE}`);
  const missing = files.filter((f) => !fs.existsSync(f));
  if (missing.length === 0) return;
  throw new Error(
    `${flag}: ${missing.length === 1 ? 'results file' : 'results files'} ${missing.join(', ')} not found (cwd ${process.cwd()}). ${HOW_TO_PRODUCE}`,
  );
}

/**
 * "model|criterion" -> `<artifacts>/<run>/predictions_best.png` of the run each combination is charted
 * from (its best run), for the combinations where that file exists. The first artifacts folder holding
 * the run's grid wins.
 */
export function gridsFor(rows: readonly ResultRow[], artifactDirs: readonly string[]): Record<string, string> {
  const grids: Record<string, string> = {};
  for (const b of bestPerCombination(rows)) {
    if (!b.run) continue;
    for (const dir of artifactDirs) {
      const runDir = runFolderIn(dir, b.run);
      const f = runDir && path.join(runDir, 'predictions_best.png');
      if (f && fs.existsSync(f)) {
        grids[`${b.model}|${b.criterion}`] = f;
        break;
      }
    }
  }
  return grids;
}

/**
 * Run id -> the settings in `<artifacts>/<run>/run.json` of each run charted (the best run of each
 * combination), from the first artifacts folder holding the run; null for a run without run.json.
 */
export function settingsFor(rows: readonly ResultRow[], artifactDirs: readonly string[]): Record<string, RunSettingsView | null> {
  const out: Record<string, RunSettingsView | null> = {};
  for (const b of bestPerCombination(rows)) {
    if (!b.run) continue;
    const dir = artifactDirs.map((d) => runFolderIn(d, b.run)).find((d): d is string => d !== undefined && fs.existsSync(d));
    out[b.run] = dir ? readRunSettings(dir) : null;
  }
  return out;
}

/** The held-out split a card shows: test, else valid (an evaluation of train or all images is not held out). */
const HELD_OUT = ['test', 'valid'] as const;

/**
 * The newest summary of `melseg evaluate` on `split` in a run folder: eval_<split>.summary.json, or
 * eval_<split>-N.summary.json of a later evaluation (evaluate never replaces an earlier CSV).
 */
function latestSummary(dir: string, split: string): string | undefined {
  const name = new RegExp(`^eval_${split}(-\\d+)?\\.summary\\.json$`);
  let best: { file: string; t: number } | undefined;
  for (const f of fs.readdirSync(dir)) {
    if (!name.test(f)) continue;
    const file = path.join(dir, f);
    const t = fs.statSync(file).mtimeMs;
    if (!best || t > best.t) best = { file, t };
  }
  return best?.file;
}

/**
 * Run id -> the newest summary of `melseg evaluate` in the run's folder (of the test split, else the
 * valid split), with its gallery, for the runs charted. A summary that cannot be read is left out (the
 * card says nothing rather than something wrong); a run id that names no folder inside the artifacts
 * folder is skipped (runFolderIn).
 */
export function evaluationsFor(rows: readonly ResultRow[], artifactDirs: readonly string[]): Record<string, EvaluationInput> {
  const out: Record<string, EvaluationInput> = {};
  for (const b of bestPerCombination(rows)) {
    if (!b.run) continue;
    const dir = artifactDirs.map((d) => runFolderIn(d, b.run)).find((d): d is string => d !== undefined && fs.existsSync(d));
    if (!dir) continue;
    for (const split of HELD_OUT) {
      const file = latestSummary(dir, split);
      if (!file) continue;
      let rec: SummaryRecord;
      try {
        rec = JSON.parse(fs.readFileSync(file, 'utf8')) as SummaryRecord;
        if (!rec.summary?.all || typeof rec.summary.all.n !== 'number') continue;
      } catch {
        continue;
      }
      const s = rec.summary;
      const figs = (label: string, f: (typeof s)['all']) => ({ label, figures: { n: f.n, mean: f.mean ?? NaN, median: f.median ?? NaN, thresholdedJaccard: f.thresholdedJaccard ?? NaN, below03: f.below03 ?? NaN, below065: f.below065 ?? NaN } });
      const set = rec.settings ? `tta ${rec.settings.tta}, threshold ${rec.settings.threshold}${rec.settings.largestComponent ? ', largest component' : ''}${rec.settings.fillHoles ? ', holes filled' : ''}` : '';
      const ev: EvaluationInput = {
        title: `held-out ${split} images (${s.all.n}), ${set}`,
        rows: [figs('all', s.all), ...Object.entries(s.groups ?? {}).map(([g, f]) => figs(g, f)), ...(s.reweighted ? [figs(`reweighted to ${s.reweighted.mix}`, s.reweighted.summary)] : [])],
      };
      // only a gallery inside the run folder: the summary names a file, never a path elsewhere
      const gallery = rec.gallery && path.basename(rec.gallery) === rec.gallery ? path.join(dir, rec.gallery) : undefined;
      if (gallery && fs.existsSync(gallery)) ev.gallery = gallery;
      out[b.run] = ev;
      break;
    }
  }
  return out;
}

/**
 * Run id -> its image size: `imageSize` of `<artifacts>/<run>/run.json` (the first artifacts folder holding
 * the run), else the size in a default run id (`..._s64_w0.25_...`), else unknown.
 */
export function imageSizeOf(artifactDirs: readonly string[]): (run: string) => number | undefined {
  return (run) => {
    const dir = artifactDirs.map((d) => runFolderIn(d, run)).find((d): d is string => d !== undefined && fs.existsSync(d));
    const view = dir ? readRunSettings(dir) : null;
    const fromFile = view && 'settings' in view ? Number(view.settings.imageSize) : NaN;
    return Number.isInteger(fromFile) && fromFile > 0 ? fromFile : sizeInRunId(run);
  };
}

export interface ChartOptions {
  /** Results CSVs (read in order; all rows are charted). */
  results: readonly string[];
  /** Folder for the charts (default: the folder of the first results file). */
  out?: string;
  /** Folders holding <run>/predictions_best.png (default: <folder of each results file>/artifacts, then artifacts/). */
  artifacts?: readonly string[];
  top?: number;
  title?: string;
  /** Also draw runs.png: every run's validation IoU, one colour per results file. */
  runs?: boolean;
}

export interface ChartSummary {
  files: ChartFiles & { runs?: string };
  rows: number;
  combinations: number;
  grids: number;
}

export function defaultArtifactDirs(results: readonly string[]): string[] {
  return [...new Set([...results.map((f) => path.join(path.dirname(f), 'artifacts')), 'artifacts'])];
}

export async function chartResults(opts: ChartOptions): Promise<ChartSummary> {
  checkResultFiles(opts.results);
  const read = readResults(opts.results);
  if (read.length === 0) {
    throw new Error(`${opts.results.join(', ')}: no result rows yet (only a header). Train something first: ${HOW_TO_PRODUCE}`);
  }
  const out = opts.out ?? path.dirname(opts.results[0]);
  const artifacts = opts.artifacts && opts.artifacts.length ? opts.artifacts : defaultArtifactDirs(opts.results);
  const rows = markImageSizes(read, imageSizeOf(artifacts));
  const grids = gridsFor(rows, artifacts);
  fs.mkdirSync(out, { recursive: true });
  const files: ChartSummary['files'] = await drawCharts(rows, out, { grids, settings: settingsFor(rows, artifacts), evaluations: evaluationsFor(rows, artifacts), title: opts.title, top: opts.top });
  if (opts.runs) {
    files.runs = path.join(out, 'runs.png');
    const groups = opts.results.map((f) => ({ label: path.basename(f).replace(/\.csv$/, ''), rows: readResults(f) }));
    await drawRunCurves(groups, files.runs, opts.title ?? 'melseg runs');
  }
  return { files, rows: rows.length, combinations: bestPerCombination(rows).length, grids: Object.keys(grids).length };
}

export interface MergeSummary {
  output: string;
  /** Runs of later files renamed <run>@<file> because an earlier file had another run of that id. */
  renamed: string[];
  inputRows: number;
  rows: number;
  combinations: number;
}

/** Checks the inputs exist, then mergeResults (one row per run, model, loss and epoch; study order). */
export async function mergeResultFiles(inputs: readonly string[], output: string): Promise<MergeSummary> {
  checkResultFiles(inputs);
  if (!output) throw new Error('--out: expected the merged CSV path, e.g. --out results/results.csv');
  const inputRows = readResults(inputs).length;
  const merged = await mergeResults(inputs, output);
  return { output, renamed: merged.renamed ?? [], inputRows, rows: merged.length, combinations: bestPerCombination(merged).length };
}
