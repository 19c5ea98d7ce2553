/** Segmentation metrics from per-image confusion counts at threshold 0.5. */

export interface Confusion {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

export function confusion(prob: ArrayLike<number>, mask: ArrayLike<number>, offset: number, n: number): Confusion {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (let i = offset; i < offset + n; i++) {
    const p = prob[i] > 0.5;
    const y = mask[i] > 0.5;
    if (p && y) tp++;
    else if (p) fp++;
    else if (y) fn++;
    else tn++;
  }
  return { tp, fp, fn, tn };
}

/** IoU = |P & Y| / |P | Y|; an image where both are empty scores 1 (nothing to find, nothing found). */
export function iou(intersection: number, union: number): number {
  return union === 0 ? 1 : intersection / union;
}

export interface ImageMetrics {
  iou: number;
  dice: number;
  accuracy: number;
  sensitivity: number;
  specificity: number;
}

export function imageMetrics(c: Confusion): ImageMetrics {
  const safe = (num: number, den: number) => (den === 0 ? 1 : num / den);
  return {
    iou: safe(c.tp, c.tp + c.fp + c.fn),
    dice: safe(2 * c.tp, 2 * c.tp + c.fp + c.fn),
    accuracy: (c.tp + c.tn) / Math.max(1, c.tp + c.tn + c.fp + c.fn),
    sensitivity: safe(c.tp, c.tp + c.fn),
    specificity: safe(c.tn, c.tn + c.fp),
  };
}

/** Mean of each metric over images (the study averaged batch means; melseg averages images). */
export function meanMetrics(all: readonly ImageMetrics[]): ImageMetrics {
  const keys: (keyof ImageMetrics)[] = ['iou', 'dice', 'accuracy', 'sensitivity', 'specificity'];
  const out = {} as ImageMetrics;
  for (const k of keys) out[k] = all.length ? all.reduce((s, m) => s + m[k], 0) / all.length : NaN;
  return out;
}
