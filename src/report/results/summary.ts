/** Orderings and per-combination summaries of results rows (pure functions, no files). */
import { LOSS_NAMES, MODEL_NAMES, compareNames } from '../names';
import type { ResultRow } from './csv';

/** Best epoch of one (model, criterion) combination, taken from its latest run. */
export interface CombinationSummary {
  model: string;
  criterion: string;
  /** The run summarised: the one whose last row comes last in file order. */
  run: string;
  /** Max validation IoU over the run's epochs; NaN if every metric is blank. */
  bestMetric: number;
  /** First epoch reaching bestMetric; NaN if none. */
  bestEpoch: number;
  /** Losses at the run's last epoch. */
  finalTrainLoss: number;
  finalValidLoss: number;
  /** Rows of the summarised run. */
  epochs: number;
  /** Distinct run ids seen for this combination. */
  runs: number;
}

/** Study order: model table order, then loss table order, then epoch; stable, so ties keep input order. */
export function sortRows(rows: readonly ResultRow[]): ResultRow[] {
  return [...rows].sort(
    (a, b) =>
      compareNames(MODEL_NAMES, a.model, b.model) ||
      compareNames(LOSS_NAMES, a.criterion, b.criterion) ||
      a.epoch - b.epoch,
  );
}

/**
 * Best validation IoU and its epoch per (model, criterion). A combination trained several times (a
 * rerun under a new id) is summarised by its latest run: the run whose last row comes last in `rows`.
 * Blank (NaN) metrics are ignored; ties go to the earliest epoch. Output in study order.
 */
export function bestPerCombination(rows: readonly ResultRow[]): CombinationSummary[] {
  const groups = new Map<string, { model: string; criterion: string; rows: ResultRow[]; lastRun: string; runs: Set<string> }>();
  for (const r of rows) {
    const key = JSON.stringify([r.model, r.criterion]);
    let g = groups.get(key);
    if (!g) {
      g = { model: r.model, criterion: r.criterion, rows: [], lastRun: r.run, runs: new Set() };
      groups.set(key, g);
    }
    g.rows.push(r);
    g.lastRun = r.run;
    g.runs.add(r.run);
  }
  const out: CombinationSummary[] = [];
  for (const g of groups.values()) {
    const runRows = g.rows.filter((r) => r.run === g.lastRun).sort((a, b) => a.epoch - b.epoch);
    let bestMetric = NaN;
    let bestEpoch = NaN;
    for (const r of runRows) {
      if (!Number.isNaN(r.metric) && (Number.isNaN(bestMetric) || r.metric > bestMetric)) {
        bestMetric = r.metric;
        bestEpoch = r.epoch;
      }
    }
    const last = runRows[runRows.length - 1];
    out.push({
      model: g.model,
      criterion: g.criterion,
      run: g.lastRun,
      bestMetric,
      bestEpoch,
      finalTrainLoss: last.train_loss,
      finalValidLoss: last.valid_loss,
      epochs: runRows.length,
      runs: g.runs.size,
    });
  }
  return out.sort((a, b) => compareNames(MODEL_NAMES, a.model, b.model) || compareNames(LOSS_NAMES, a.criterion, b.criterion));
}

/** Summaries best first by best IoU; those without any IoU last, in their given order. */
export function rankByBestIoU(best: readonly CombinationSummary[]): CombinationSummary[] {
  const key = (b: CombinationSummary) => (Number.isFinite(b.bestMetric) ? b.bestMetric : -Infinity);
  return [...best].sort((a, b) => key(b) - key(a) || 0);
}

/** Rows of the run that bestPerCombination summarises for each combination, sorted by epoch. */
export function latestRunRows(rows: readonly ResultRow[]): ResultRow[] {
  const lastRun = new Map<string, string>();
  for (const r of rows) lastRun.set(JSON.stringify([r.model, r.criterion]), r.run);
  return sortRows(rows.filter((r) => lastRun.get(JSON.stringify([r.model, r.criterion])) === r.run));
}
