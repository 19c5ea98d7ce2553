/**
 * What a user sees of an evaluation beyond the mean: the median, the ISIC 2018 thresholded Jaccard
 * (an image's IoU counts as 0 below 0.65), how many images fail (IoU below 0.3) or fall short (below
 * 0.65), per label (diagnosis) when the data has labels, and every figure reweighted to another set's
 * label mix: image i of label g weighs mix_g / (sum of mix) / n_g, so each label contributes its share
 * of the target set whatever its share of the scored images.
 */

import { UNLABELLED } from '../data/labels';
import type { IouFigures } from '../report';

export const FAIL_IOU = 0.3;
/** ISIC 2018 task 1: a Jaccard index below 0.65 scores 0. */
export const JACCARD_THRESHOLD = 0.65;

/** The figures of a set of images (fractions weighted when reweighted), and the counts, unweighted. */
export interface IouSummary extends IouFigures {
  countBelow03: number;
  countBelow065: number;
}

/** Weighted median: the smallest x whose cumulative weight reaches half (the lower median for equal weights). */
function weightedMedian(xs: readonly number[], ws: readonly number[]): number {
  const order = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b]);
  const total = ws.reduce((a, b) => a + b, 0);
  let acc = 0;
  for (const i of order) {
    acc += ws[i];
    if (acc >= total / 2 - 1e-12) return xs[i];
  }
  return NaN;
}

/** The summary of per-image IoUs, each with weight `ws[i]` (default equal weights). */
export function summariseIou(ious: readonly number[], ws?: readonly number[]): IouSummary {
  const n = ious.length;
  const w = ws ?? ious.map(() => 1);
  if (w.length !== n) throw new Error(`summariseIou: ${n} IoUs but ${w.length} weights`);
  const total = w.reduce((a, b) => a + b, 0);
  if (!n || !(total > 0)) return { n, mean: NaN, median: NaN, thresholdedJaccard: NaN, below03: NaN, below065: NaN, countBelow03: 0, countBelow065: 0 };
  let mean = 0;
  let tj = 0;
  let b03 = 0;
  let b065 = 0;
  let c03 = 0;
  let c065 = 0;
  ious.forEach((x, i) => {
    const wi = w[i] / total;
    mean += wi * x;
    tj += x < JACCARD_THRESHOLD ? 0 : wi * x;
    if (x < FAIL_IOU) {
      b03 += wi;
      c03++;
    }
    if (x < JACCARD_THRESHOLD) {
      b065 += wi;
      c065++;
    }
  });
  const median = ws ? weightedMedian(ious, w) : lowerUpperMedian(ious);
  return { n, mean, median, thresholdedJaccard: tj, below03: b03, below065: b065, countBelow03: c03, countBelow065: c065 };
}

/** The usual median (mean of the two middle values for an even count). */
function lowerUpperMedian(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export interface Reweighting {
  /** The target mix, normalised to shares that sum to 1 over the labels present in both. */
  shares: Record<string, number>;
  summary: IouSummary;
  /** Labels of the mix with no scored image (their share is dropped and the rest renormalised). */
  missing: string[];
  /** Scored images whose label is not in the mix (weight 0). */
  ignored: number;
}

export interface EvaluationSummary {
  all: IouSummary;
  /** Per label, when labels were given; images without a label count as "unlabelled". */
  groups?: Record<string, IouSummary>;
  reweighted?: Reweighting & { mix: string };
}

/** Per-image weights that give the scored images the label mix `mix` (see the file comment). */
export function mixWeights(labelsOfImages: readonly string[], mix: Readonly<Record<string, number>>): { weights: number[]; shares: Record<string, number>; missing: string[]; ignored: number } {
  const counts: Record<string, number> = {};
  for (const l of labelsOfImages) counts[l] = (counts[l] ?? 0) + 1;
  const present = Object.keys(mix).filter((l) => mix[l] > 0 && counts[l]);
  const missing = Object.keys(mix).filter((l) => mix[l] > 0 && !counts[l]);
  const total = present.reduce((a, l) => a + mix[l], 0);
  const shares: Record<string, number> = {};
  for (const l of present) shares[l] = mix[l] / total;
  let ignored = 0;
  const weights = labelsOfImages.map((l) => {
    if (shares[l] === undefined) {
      ignored++;
      return 0;
    }
    return shares[l] / counts[l];
  });
  return { weights, shares, missing, ignored };
}

/** The evaluation summary of scored images (`id`, `iou`), with labels and a target mix when given. */
export function summariseEvaluation(
  images: readonly { id: string; iou: number }[],
  o: { labels?: ReadonlyMap<string, string>; mix?: { name: string; counts: Readonly<Record<string, number>> } } = {},
): EvaluationSummary {
  const ious = images.map((r) => r.iou);
  const out: EvaluationSummary = { all: summariseIou(ious) };
  const labels = o.labels;
  if (!labels) {
    if (o.mix) throw new Error(`--weights-from ${o.mix.name} needs the images' labels: pass --labels (a labels.csv of image id and label)`);
    return out;
  }
  const labelOf = images.map((r) => labels.get(r.id) ?? UNLABELLED);
  out.groups = {};
  for (const g of [...new Set(labelOf)].sort()) {
    out.groups[g] = summariseIou(ious.filter((_, i) => labelOf[i] === g));
  }
  if (o.mix) {
    const w = mixWeights(labelOf, o.mix.counts);
    if (!Object.keys(w.shares).length)
      throw new Error(`--weights-from ${o.mix.name}: none of its labels (${Object.keys(o.mix.counts).join(', ')}) is the label of a scored image (found ${Object.keys(out.groups).join(', ')})`);
    out.reweighted = { mix: o.mix.name, shares: w.shares, missing: w.missing, ignored: w.ignored, summary: summariseIou(ious, w.weights) };
  }
  return out;
}
