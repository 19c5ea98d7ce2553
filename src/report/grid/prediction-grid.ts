/**
 * The prediction grid of a run's best epoch: one row per validation image, image | prediction |
 * ground truth | overlay (see ./overlay for the colours), with white gutters, column titles, per-row
 * captions (id, IoU at the threshold) and a colour legend.
 */
import { createCanvas, createImageData } from 'canvas';
import type { CanvasRenderingContext2D } from 'canvas';
import { confusion, iou } from '../../metrics';
import { writeFileAtomic } from '../../util/atomic';
import { checkLength } from './check';
import { GRID_COLUMNS, GridLayout, GridOptions, gridLayout } from './layout';
import { GT_COLOUR, PRED_COLOUR, overlayImage, probToMask } from './overlay';

export interface GridItem {
  /** S*S*3 RGB, row-major (HWC). */
  image: Uint8Array;
  /** S*S lesion probability in [0, 1]. */
  prob: Float32Array;
  /** S*S ground truth, 0/1 (any non-zero counts as lesion). */
  mask: Uint8Array;
  id: string;
  /** The row's caption (default: id and the IoU of the thresholded prediction). */
  caption?: string;
  /** The mask the overlay tints (default: the thresholded prediction), e.g. the post-processed one. */
  overlayMask?: Uint8Array;
}

/** IoU of the thresholded prediction against the mask; 1 when both are empty (nothing to find, nothing found). */
export function maskIoU(pred: Uint8Array, mask: Uint8Array): number {
  const c = confusion(pred, mask, 0, pred.length);
  return iou(c.tp, c.tp + c.fp + c.fn);
}

const font = (px: number, weight = '') => `${weight} ${px}px sans-serif`.trim();

/** Largest font size from `fontPx` down to 7 px at which `text` fits `maxWidth`. */
function fittingSize(ctx: CanvasRenderingContext2D, text: string, maxWidth: number, fontPx: number, weight = ''): number {
  let px = fontPx;
  ctx.font = font(px, weight);
  while (ctx.measureText(text).width > maxWidth && px > 7) ctx.font = font(--px, weight);
  return px;
}

/** `text` at the size set on ctx, ellipsised until it fits maxWidth. */
function ellipsise(ctx: CanvasRenderingContext2D, text: string, maxWidth: number): string {
  let t = text;
  while (t.length > 1 && ctx.measureText(t).width > maxWidth) t = t.slice(0, -2) + '…';
  return t;
}

function checkItems(items: readonly GridItem[], S: number, file: string): void {
  if (items.length === 0) throw new Error(`prediction grid ${file}: expected at least one item; found none. Pass the images to show.`);
  if (!Number.isInteger(S) || S < 1) throw new Error(`prediction grid ${file}: expected a positive integer size S; found ${S}.`);
  items.forEach((it, k) => {
    checkLength(`prediction grid item ${k} (${it.id}) image`, it.image, S * S * 3, `${S}x${S}x3 RGB`);
    checkLength(`prediction grid item ${k} (${it.id}) prob`, it.prob, S * S, `${S}x${S} probabilities`);
    checkLength(`prediction grid item ${k} (${it.id}) mask`, it.mask, S * S, `${S}x${S} 0/1 mask`);
    if (it.overlayMask) checkLength(`prediction grid item ${k} (${it.id}) overlay mask`, it.overlayMask, S * S, `${S}x${S} 0/1 mask`);
  });
}

/** The column titles, all at one size (the largest at which all fit), so a long title is not smaller than its neighbours. */
function drawTitles(ctx: CanvasRenderingContext2D, L: GridLayout, S: number): void {
  const px = Math.min(...GRID_COLUMNS.map((t) => fittingSize(ctx, t, S, L.fontPx, 'bold')));
  ctx.font = font(px, 'bold');
  ctx.fillStyle = '#222222';
  GRID_COLUMNS.forEach((title, col) => {
    const { x } = L.tile(0, col);
    const t = ellipsise(ctx, title, S);
    ctx.fillText(t, x + (S - ctx.measureText(t).width) / 2, L.gutter + L.headerH / 2);
  });
}

/** One item's row: its four tiles (image, prediction, ground truth, overlay) and its caption. */
function drawRow(ctx: CanvasRenderingContext2D, L: GridLayout, S: number, it: GridItem, row: number, threshold: number): void {
  const tilePx = new Uint8ClampedArray(S * S * 4);
  const put = (rgbAt: (i: number, c: number) => number, x: number, y: number) => {
    for (let i = 0; i < S * S; i++) {
      tilePx[i * 4] = rgbAt(i, 0);
      tilePx[i * 4 + 1] = rgbAt(i, 1);
      tilePx[i * 4 + 2] = rgbAt(i, 2);
      tilePx[i * 4 + 3] = 255;
    }
    ctx.putImageData(createImageData(tilePx, S, S), x, y);
  };
  const pred = probToMask(it.prob, threshold);
  const ov = it.overlayMask
    ? overlayImage(it.image, Float32Array.from(it.overlayMask, (v) => (v ? 1 : 0)), S, { mask: it.mask, threshold: 0.5 })
    : overlayImage(it.image, it.prob, S, { mask: it.mask, threshold });
  const cols: ((i: number, c: number) => number)[] = [
    (i, c) => it.image[i * 3 + c],
    (i) => Math.round(Math.min(1, Math.max(0, Number.isNaN(it.prob[i]) ? 0 : it.prob[i])) * 255),
    (i) => (it.mask[i] ? 255 : 0),
    (i, c) => ov[i * 3 + c],
  ];
  cols.forEach((f, col) => {
    const { x, y } = L.tile(row, col);
    put(f, x, y);
  });
  if (L.captionH > 0) {
    const { x, y } = L.tile(row, 0);
    ctx.fillStyle = '#333333';
    const text = it.caption ?? `${it.id}   IoU ${maskIoU(pred, it.mask).toFixed(3)}`;
    fittingSize(ctx, text, L.width - 2 * L.gutter, L.fontPx - 1);
    ctx.fillText(ellipsise(ctx, text, L.width - 2 * L.gutter), x, y - L.captionH / 2);
  }
}

/**
 * Writes the grid PNG atomically (see the file comment); returns the layout (for callers placing it in
 * a report).
 */
export async function predictionGrid(items: readonly GridItem[], S: number, file: string, opts: GridOptions = {}): Promise<GridLayout> {
  checkItems(items, S, file);
  const threshold = opts.threshold ?? 0.5;
  const L = gridLayout(items.length, S, opts);
  const canvas = createCanvas(L.width, L.height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, L.width, L.height);
  ctx.textBaseline = 'middle';
  if (L.headerH > 0) drawTitles(ctx, L, S);
  items.forEach((it, row) => drawRow(ctx, L, S, it, row, threshold));
  if (L.legendH > 0) drawLegend(ctx, L.gutter, L.height - L.legendH / 2 - 1, L.width - 2 * L.gutter, L.fontPx - 1);
  await writeFileAtomic(file, canvas.toBuffer('image/png'));
  return L;
}

/**
 * Footer: "overlay: [swatch] prediction (tint + contour)  [swatch] ground truth (contour)", shortened to
 * "[swatch] pred [swatch] truth" when the grid is too narrow for the long form.
 */
function drawLegend(ctx: CanvasRenderingContext2D, x: number, cy: number, maxWidth: number, fontPx: number): void {
  const sw = Math.round(fontPx * 0.8);
  const forms: [string, [string, readonly number[]][]][] = [
    ['overlay:', [['prediction (tint + contour)', PRED_COLOUR], ['ground truth (contour)', GT_COLOUR]]],
    ['', [['pred', PRED_COLOUR], ['truth', GT_COLOUR]]],
  ];
  ctx.font = font(fontPx);
  const widthOf = ([lead, entries]: (typeof forms)[number]) =>
    (lead ? ctx.measureText(lead).width + 6 : 0) + entries.reduce((a, [label]) => a + sw + 4 + ctx.measureText(label).width + 12, 0);
  const form = forms.find((f) => widthOf(f) <= maxWidth);
  if (!form) return;
  let cx = x;
  ctx.fillStyle = '#333333';
  if (form[0]) {
    ctx.fillText(form[0], cx, cy);
    cx += ctx.measureText(form[0]).width + 6;
  }
  for (const [label, colour] of form[1]) {
    ctx.fillStyle = `rgb(${colour.join(',')})`;
    ctx.fillRect(cx, cy - sw / 2, sw, sw);
    ctx.strokeStyle = '#555555';
    ctx.lineWidth = 1;
    ctx.strokeRect(cx + 0.5, cy - sw / 2 + 0.5, sw - 1, sw - 1);
    cx += sw + 4;
    ctx.fillStyle = '#333333';
    ctx.fillText(label, cx, cy);
    cx += ctx.measureText(label).width + 12;
  }
}
