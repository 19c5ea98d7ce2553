/**
 * Per-image scores of a predicted 0/1 mask against the ground truth at the same (original)
 * resolution, and their mean and standard deviation over images, as segmentation papers report them.
 */
import { confusion, imageMetrics, type Confusion, type ImageMetrics } from '../metrics';

export const METRICS = ['iou', 'dice', 'accuracy', 'sensitivity', 'specificity'] as const satisfies readonly (keyof ImageMetrics)[];

/** Confusion counts of two 0/1 (or 0/255) masks of the same size. */
export function maskConfusion(pred: Uint8Array, truth: Uint8Array): Confusion {
  if (pred.length !== truth.length) throw new Error(`maskConfusion: the prediction has ${pred.length} pixels but the ground truth ${truth.length}; score them at the same size`);
  return confusion(pred, truth, 0, pred.length);
}

export function scoreMask(pred: Uint8Array, truth: Uint8Array): Confusion & ImageMetrics {
  const c = maskConfusion(pred, truth);
  return { ...c, ...imageMetrics(c) };
}

export interface MeanStd {
  mean: ImageMetrics;
  /** Population standard deviation over images, sqrt(sum (x - mean)^2 / n) (numpy's default std). */
  std: ImageMetrics;
}

/** Mean and population standard deviation of a list of numbers (NaN for an empty list). */
export function meanStdOf(xs: readonly number[]): { mean: number; std: number } {
  const n = xs.length;
  if (!n) return { mean: NaN, std: NaN };
  const mean = xs.reduce((s, x) => s + x, 0) / n;
  return { mean, std: Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / n) };
}

/**
 * The metrics of one confusion matrix summed over every pixel of every image: how EGE-UNet's and
 * MALUNet's code score a test set (engine.py: TP, FP, FN of all pixels at once, "miou" = TP / (TP +
 * FP + FN), "f1_or_dsc" = 2 TP / (2 TP + FP + FN)). Each image weighs by its lesion's size: a missed
 * small lesion costs only its pixels, a large one half found costs many, so it can read higher or
 * lower than the per-image mean (both happen on melseg's ISIC test split, README).
 */
export function pooledMetrics(rows: readonly Confusion[]): ImageMetrics {
  const sum: Confusion = { tp: 0, fp: 0, fn: 0, tn: 0 };
  for (const r of rows) {
    sum.tp += r.tp;
    sum.fp += r.fp;
    sum.fn += r.fn;
    sum.tn += r.tn;
  }
  return imageMetrics(sum);
}

export function meanStd(rows: readonly ImageMetrics[]): MeanStd {
  const mean = {} as ImageMetrics;
  const std = {} as ImageMetrics;
  for (const k of METRICS) ({ mean: mean[k], std: std[k] } = meanStdOf(rows.map((r) => r[k])));
  return { mean, std };
}
