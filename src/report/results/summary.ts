/** Orderings and per-combination summaries of results rows (pure functions, no files). */
import { LOSS_NAMES, MODEL_NAMES, compareNames } from '../names';
import type { ResultRow } from './csv';

/** Best epoch of one (model, criterion) combination, taken from its best run. */
export interface CombinationSummary {
  model: string;
  criterion: string;
  /** The run summarised: the one with the highest best IoU (a tie, or no IoU at all: the one whose last row comes last in file order). */
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

/** Max validation IoU of sorted `runRows` and the first epoch reaching it; NaN, NaN if every metric is blank. */
function bestOf(runRows: readonly ResultRow[]): { bestMetric: number; bestEpoch: number } {
  let bestMetric = NaN;
  let bestEpoch = NaN;
  for (const r of runRows) {
    if (!Number.isNaN(r.metric) && (Number.isNaN(bestMetric) || r.metric > bestMetric)) {
      bestMetric = r.metric;
      bestEpoch = r.epoch;
    }
  }
  return { bestMetric, bestEpoch };
}

/**
 * Best validation IoU and its epoch per (model, criterion). A combination trained several times (seeds,
 * a rerun under a new id, the same combination in several results files) is summarised by its best run:
 * the run with the highest best IoU; a tie (or no IoU at all) goes to the latest run, the one whose last
 * row comes last in `rows`. Blank (NaN) metrics are ignored; ties of epochs go to the earliest epoch.
 * Output in study order.
 */
export function bestPerCombination(rows: readonly ResultRow[]): CombinationSummary[] {
  const groups = new Map<string, { model: string; criterion: string; byRun: Map<string, ResultRow[]> }>();
  for (const r of rows) {
    const key = JSON.stringify([r.model, r.criterion]);
    let g = groups.get(key);
    if (!g) {
      g = { model: r.model, criterion: r.criterion, byRun: new Map() };
      groups.set(key, g);
    }
    // re-inserted (the same array), so the Map's order is the order of each run's last row
    const own = g.byRun.get(r.run) ?? [];
    own.push(r);
    g.byRun.delete(r.run);
    g.byRun.set(r.run, own);
  }
  const out: CombinationSummary[] = [];
  for (const g of groups.values()) {
    let chosen: { run: string; rows: ResultRow[]; bestMetric: number; bestEpoch: number } | undefined;
    for (const [run, own] of g.byRun) {
      const runRows = [...own].sort((a, b) => a.epoch - b.epoch);
      const b = bestOf(runRows);
      const score = (m: number) => (Number.isNaN(m) ? -Infinity : m);
      if (!chosen || score(b.bestMetric) >= score(chosen.bestMetric)) chosen = { run, rows: runRows, ...b };
    }
    const last = chosen!.rows[chosen!.rows.length - 1];
    out.push({
      model: g.model,
      criterion: g.criterion,
      run: chosen!.run,
      bestMetric: chosen!.bestMetric,
      bestEpoch: chosen!.bestEpoch,
      finalTrainLoss: last.train_loss,
      finalValidLoss: last.valid_loss,
      epochs: chosen!.rows.length,
      runs: g.byRun.size,
    });
  }
  return out.sort((a, b) => compareNames(MODEL_NAMES, a.model, b.model) || compareNames(LOSS_NAMES, a.criterion, b.criterion));
}

/** Summaries best first by best IoU; those without any IoU last, in their given order. */
export function rankByBestIoU(best: readonly CombinationSummary[]): CombinationSummary[] {
  const key = (b: CombinationSummary) => (Number.isFinite(b.bestMetric) ? b.bestMetric : -Infinity);
  return [...best].sort((a, b) => key(b) - key(a) || 0);
}

/** Rows of the run that bestPerCombination summarises for each combination (its best run), sorted by epoch. */
export function chartedRunRows(rows: readonly ResultRow[]): ResultRow[] {
  const chosen = new Set(bestPerCombination(rows).map((b) => JSON.stringify([b.model, b.criterion, b.run])));
  return sortRows(rows.filter((r) => chosen.has(JSON.stringify([r.model, r.criterion, r.run]))));
}
