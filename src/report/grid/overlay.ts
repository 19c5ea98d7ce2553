/**
 * The overlay of a prediction (and optionally the ground truth) on an image.
 *
 * Legend (Okabe-Ito colours, distinguishable with the common colour-vision deficiencies and against
 * skin tones):
 *   - predicted lesion (prob >= threshold): area tinted sky blue (#56B4E9, 35 %) with an opaque sky-blue contour;
 *   - ground truth: opaque yellow (#F0E442) contour, drawn last so it stays visible where the contours meet.
 */
import { checkLength } from './check';

export const PRED_COLOUR: readonly [number, number, number] = [86, 180, 233];
export const GT_COLOUR: readonly [number, number, number] = [240, 228, 66];

export interface OverlayOptions {
  /** Image height when not square (width is the S argument). */
  height?: number;
  /** Ground truth to outline, same size as the image, 0/1. */
  mask?: Uint8Array;
  /** Probability at or above which a pixel is predicted lesion. Default 0.5. */
  threshold?: number;
  /** Opacity of the tint over the predicted area. Default 0.35. */
  alpha?: number;
  /** Contour thickness in pixels. Default max(2, round(min(w, h) / 128)) (1 below 32 px): 2 px at 256, 8 at 1024. */
  thickness?: number;
}

/** Binary 0/1 mask of prob >= threshold. */
export function probToMask(prob: ArrayLike<number>, threshold = 0.5): Uint8Array {
  const m = new Uint8Array(prob.length);
  for (let i = 0; i < prob.length; i++) m[i] = prob[i] >= threshold ? 1 : 0;
  return m;
}

/**
 * Inner contour of a binary mask: lesion pixels within `thickness` 4-connected steps of background
 * (pixels outside the image count as background). mask AND NOT erode^thickness(mask).
 */
export function maskContour(mask: ArrayLike<number>, w: number, h: number, thickness: number): Uint8Array {
  let cur = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) cur[i] = mask[i] ? 1 : 0;
  const orig = cur;
  for (let t = 0; t < thickness; t++) {
    const next = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        next[i] =
          cur[i] && x > 0 && cur[i - 1] && x < w - 1 && cur[i + 1] && y > 0 && cur[i - w] && y < h - 1 && cur[i + w] ? 1 : 0;
      }
    }
    cur = next;
  }
  const out = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) out[i] = orig[i] && !cur[i] ? 1 : 0;
  return out;
}

/**
 * RGB overlay (w*h*3) of the prediction (and optionally the ground truth) on the image; see the legend
 * in the file comment. `S` is the width; pass `height` for non-square images such as originals.
 * `prob` may be a 0/1 mask itself (threshold 0.5): no float copy of a full-resolution mask is needed.
 */
export function overlayImage(image: Uint8Array, prob: ArrayLike<number>, S: number, opts: OverlayOptions = {}): Uint8Array {
  const w = S;
  const h = opts.height ?? S;
  const n = w * h;
  checkLength('overlayImage image', image, n * 3, `${w}x${h}x3 RGB`);
  checkLength('overlayImage prob', prob, n, `${w}x${h} probabilities`);
  if (opts.mask) checkLength('overlayImage mask', opts.mask, n, `${w}x${h} 0/1 ground truth`);
  const alpha = opts.alpha ?? 0.35;
  const thickness = opts.thickness ?? (Math.min(w, h) < 32 ? 1 : Math.max(2, Math.round(Math.min(w, h) / 128)));
  const pred = probToMask(prob, opts.threshold ?? 0.5);
  const predEdge = maskContour(pred, w, h, thickness);
  const gtEdge = opts.mask ? maskContour(opts.mask, w, h, thickness) : null;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      let v = image[i * 3 + c];
      if (pred[i]) v = (1 - alpha) * v + alpha * PRED_COLOUR[c];
      if (predEdge[i]) v = PRED_COLOUR[c];
      if (gtEdge && gtEdge[i]) v = GT_COLOUR[c];
      out[i * 3 + c] = Math.round(v);
    }
  }
  return out;
}
