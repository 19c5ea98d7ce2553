/**
 * Results rows shaped for charts. Every chart is drawn from one run of each (model, criterion): the run
 * bestPerCombination summarises (its best), so seeds and reruns do not overlay each other.
 * Blank/NaN values become gaps (null).
 */
import { LOSS_NAMES, MODEL_NAMES, compareNames } from '../names';
import { chartedRunRows } from '../results/summary';
import type { ResultRow } from '../results/csv';
import { PALETTE } from './render';

export type Point = { x: number; y: number | null };

export interface Series {
  model: string;
  criterion: string;
  /** Sorted by epoch, one row per epoch (the last written wins). */
  rows: ResultRow[];
}

export function comboKey(model: string, criterion: string): string {
  return `${model}|${criterion}`;
}

export function seriesByCombination(rows: readonly ResultRow[]): Map<string, Series> {
  const out = new Map<string, Series>();
  for (const r of chartedRunRows(rows)) {
    const k = comboKey(r.model, r.criterion);
    let s = out.get(k);
    if (!s) {
      s = { model: r.model, criterion: r.criterion, rows: [] };
      out.set(k, s);
    }
    const last = s.rows[s.rows.length - 1];
    if (last && last.epoch === r.epoch) s.rows[s.rows.length - 1] = r;
    else s.rows.push(r);
  }
  return out;
}

/** Last epoch of any charted series: the epoch axis ends where the longest drawn line ends. */
export function lastEpoch(series: Iterable<Series>): number {
  let m = -Infinity;
  for (const s of series) for (const r of s.rows) if (r.epoch > m) m = r.epoch;
  return m;
}

export function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

export function points(rows: readonly ResultRow[], pick: (r: ResultRow) => number): Point[] {
  return rows.map((r) => ({ x: r.epoch, y: finite(pick(r)) }));
}

/** Per-point radius: `base`, but `dot` where a value has no drawn neighbour (else a lone value is invisible). */
export function radii(pts: readonly Point[], base: number, dot: number): number[] {
  return pts.map((p, i) => {
    if (p.y === null) return 0;
    const prev = i > 0 && pts[i - 1].y !== null && pts[i - 1].x === p.x - 1;
    const next = i < pts.length - 1 && pts[i + 1].y !== null && pts[i + 1].x === p.x + 1;
    return prev || next ? base : dot;
  });
}

/** Distinct names in table order (names outside the table last, alphabetically). */
export function uniqueSorted(values: Iterable<string>, table: readonly string[]): string[] {
  return [...new Set(values)].sort((a, b) => compareNames(table, a, b));
}

export function modelsOf(rows: readonly { model: string }[]): string[] {
  return uniqueSorted(
    rows.map((r) => r.model),
    MODEL_NAMES,
  );
}

export function lossesOf(rows: readonly { criterion: string }[]): string[] {
  return uniqueSorted(
    rows.map((r) => r.criterion),
    LOSS_NAMES,
  );
}

/** A model keeps its colour in every chart of one report: palette order over the models present, in table order. */
export function modelColours(rows: readonly { model: string }[]): Map<string, string> {
  return new Map(modelsOf(rows).map((name, i) => [name, PALETTE[i % PALETTE.length]]));
}

/** `x` with `digits` decimals; an en dash for a missing value. */
export function fmt(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '–';
}
