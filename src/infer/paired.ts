/**
 * `melseg compare`: a candidate's per-image IoUs against a baseline's on the images both scored, paired
 * image by image, so that the gain's standard error is that of the per-image differences d_i = cand_i -
 * base_i, far smaller than the spread of either mean (which is mostly how hard each image is).
 *
 * With weights w_i normalised to sum 1 (equal, or a label mix: see mixWeights), the gain is
 * sum w_i d_i and its standard error sqrt(n/(n-1) * sum w_i^2 (d_i - gain)^2) over the n images of
 * non-zero weight: for equal weights this is the usual s_d / sqrt(n).
 */
import * as fs from 'fs';
import * as path from 'path';
import Papa from 'papaparse';
import { UNLABELLED } from '../data/labels';
import { summaryFile } from './evaluate';
import { mixWeights, summariseIou } from './summary';

/** One evaluate CSV: IoU per image id, and what made it where the file records it. */
export interface ScoredImages {
  file: string;
  iou: Map<string, number>;
  /** The split column's value, when the CSV has one (every row carries the same). */
  split?: string;
  /** The settings column (e.g. "preset best"), when present. */
  settings?: string;
}

/** Reads the per-image CSV `melseg evaluate` writes (columns id and iou at least). */
export function readScoredImages(file: string): ScoredImages {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${file}: cannot read it (${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a folder, not a CSV' : code ?? String(e)}); pass the per-image CSV that melseg evaluate wrote (eval_test.csv in the run folder, or its --csv)`);
  }
  const rows = Papa.parse<Record<string, string>>(text.replace(/^\uFEFF/, ''), { header: true, skipEmptyLines: true });
  const fields = rows.meta.fields ?? [];
  for (const col of ['id', 'iou']) {
    if (!fields.includes(col)) throw new Error(`${file}: no "${col}" column (found: ${fields.slice(0, 8).join(', ') || 'nothing'}); expected the per-image CSV of melseg evaluate (id,width,height,iou,...)`);
  }
  const iou = new Map<string, number>();
  rows.data.forEach((r, i) => {
    const id = r.id ?? '';
    const x = Number(r.iou);
    if (!id || !Number.isFinite(x) || x < 0 || x > 1) throw new Error(`${file}, line ${i + 2}: expected an image id and an IoU in [0, 1], found id "${id}", iou "${r.iou ?? ''}"`);
    if (iou.has(id)) throw new Error(`${file}, line ${i + 2}: image ${id} appears twice; one evaluation per file`);
    iou.set(id, x);
  });
  if (!iou.size) throw new Error(`${file}: no image rows; re-run melseg evaluate`);
  const first = rows.data[0] ?? {};
  const out: ScoredImages = { file, iou };
  if (first.split) out.split = first.split;
  if (first.settings) out.settings = first.settings;
  return out;
}

/** A gain and its standard error. */
export interface Gain {
  base: number;
  candidate: number;
  gain: number;
  se: number;
}

export interface GroupComparison extends Gain {
  n: number;
  better: number;
  worse: number;
  /** Images below IoU 0.3 with each. */
  failsBase: number;
  failsCandidate: number;
}

export interface PairedComparison {
  base: ScoredImages;
  candidate: ScoredImages;
  /** Images scored by one file only (left out of every figure). */
  onlyBase: number;
  onlyCandidate: number;
  all: GroupComparison;
  groups?: Record<string, GroupComparison>;
  /** Every figure of `all` with the images weighted to a label mix. */
  reweighted?: { mix: string; shares: Record<string, number>; gain: Gain; failsBase: number; failsCandidate: number };
}

/** Differences within this count as ties (IoUs read back from a CSV round to ~1e-16). */
const TIE = 1e-9;

function weightedGain(b: readonly number[], c: readonly number[], w: readonly number[]): Gain {
  const total = w.reduce((s, x) => s + x, 0);
  const ws = w.map((x) => x / total);
  let base = 0;
  let cand = 0;
  ws.forEach((x, i) => {
    base += x * b[i];
    cand += x * c[i];
  });
  const gain = cand - base;
  const n = ws.filter((x) => x > 0).length;
  let v = 0;
  ws.forEach((x, i) => {
    const d = c[i] - b[i] - gain;
    v += x * x * d * d;
  });
  return { base, candidate: cand, gain, se: n > 1 ? Math.sqrt((v * n) / (n - 1)) : NaN };
}

function group(b: readonly number[], c: readonly number[]): GroupComparison {
  const g = weightedGain(b, c, b.map(() => 1));
  return {
    n: b.length,
    ...g,
    better: b.filter((x, i) => c[i] > x + TIE).length,
    worse: b.filter((x, i) => c[i] < x - TIE).length,
    failsBase: summariseIou(b).countBelow03,
    failsCandidate: summariseIou(c).countBelow03,
  };
}

export function comparePaired(
  base: ScoredImages,
  candidate: ScoredImages,
  o: { labels?: ReadonlyMap<string, string>; mix?: { name: string; counts: Readonly<Record<string, number>> } } = {},
): PairedComparison {
  const ids = [...base.iou.keys()].filter((id) => candidate.iou.has(id)).sort();
  if (!ids.length)
    throw new Error(`${base.file} and ${candidate.file} share no image id: compare two evaluations of the same images (same --data and --split)`);
  if (base.split && candidate.split && base.split !== candidate.split)
    throw new Error(`${base.file} scores the ${base.split} split and ${candidate.file} the ${candidate.split} split: compare evaluations of the same split`);
  const b = ids.map((id) => base.iou.get(id) as number);
  const c = ids.map((id) => candidate.iou.get(id) as number);
  const out: PairedComparison = { base, candidate, onlyBase: base.iou.size - ids.length, onlyCandidate: candidate.iou.size - ids.length, all: group(b, c) };
  const labels = o.labels;
  if (!labels) {
    if (o.mix) throw new Error(`--weights-from ${o.mix.name} needs the images' labels: pass --labels (a labels.csv of image id and label)`);
    return out;
  }
  const labelOf = ids.map((id) => labels.get(id) ?? UNLABELLED);
  out.groups = {};
  for (const g of [...new Set(labelOf)].sort()) {
    const at = labelOf.map((l, i) => (l === g ? i : -1)).filter((i) => i >= 0);
    out.groups[g] = group(at.map((i) => b[i]), at.map((i) => c[i]));
  }
  if (o.mix) {
    const w = mixWeights(labelOf, o.mix.counts);
    if (!Object.keys(w.shares).length)
      throw new Error(`--weights-from ${o.mix.name}: none of its labels (${Object.keys(o.mix.counts).join(', ')}) labels a compared image (found ${Object.keys(out.groups).join(', ')})`);
    const fails = (xs: readonly number[]) => summariseIou(xs, w.weights).below03;
    out.reweighted = { mix: o.mix.name, shares: w.shares, gain: weightedGain(b, c, w.weights), failsBase: fails(b), failsCandidate: fails(c) };
  }
  return out;
}

/** The labels file an evaluation's summary (<csv>.summary.json) names, if it exists. */
export function labelsOfEvaluation(csv: string): string | undefined {
  const summary = summaryFile(csv);
  try {
    const s = JSON.parse(fs.readFileSync(summary, 'utf8')) as { labels?: unknown };
    if (typeof s.labels !== 'string') return undefined;
    const file = path.resolve(path.dirname(summary), s.labels);
    return fs.existsSync(file) ? file : undefined;
  } catch {
    return undefined;
  }
}
