/**
 * Prediction pictures: the per-row grid (image | prediction | ground truth | overlay) for reports, and the
 * mask / overlay PNGs of `melseg predict`.
 *
 * Overlay legend (Okabe-Ito colours, distinguishable with the common colour-vision deficiencies and
 * against skin tones):
 *   - predicted lesion (prob >= threshold): area tinted sky blue (#56B4E9, 35 %) with an opaque sky-blue contour;
 *   - ground truth: opaque yellow (#F0E442) contour, drawn last so it stays visible where the contours meet.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { createCanvas, createImageData } from 'canvas';
import type { CanvasRenderingContext2D } from 'canvas';
import writeFileAtomic from 'write-file-atomic';

export const PRED_COLOUR: readonly [number, number, number] = [86, 180, 233];
export const GT_COLOUR: readonly [number, number, number] = [240, 228, 66];

export interface GridItem {
  /** S*S*3 RGB, row-major (HWC). */
  image: Uint8Array;
  /** S*S lesion probability in [0, 1]. */
  prob: Float32Array;
  /** S*S ground truth, 0/1 (any non-zero counts as lesion). */
  mask: Uint8Array;
  id: string;
}

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

function checkLength(what: string, arr: ArrayLike<number>, expected: number, hint: string): void {
  if (arr.length !== expected) {
    throw new Error(`${what}: expected ${expected} values (${hint}); found ${arr.length}. Pass arrays of the stated size.`);
  }
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
 */
export function overlayImage(image: Uint8Array, prob: Float32Array, S: number, opts: OverlayOptions = {}): Uint8Array {
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

/**
 * Bilinear resize of a probability map with half-pixel centres (source coordinate = (x + 0.5) * sw/dw - 0.5,
 * clamped), i.e. PyTorch's interpolate(mode='bilinear', align_corners=False).
 */
export function resizeProbability(prob: ArrayLike<number>, sw: number, sh: number, dw: number, dh: number): Float32Array {
  checkLength('resizeProbability prob', prob, sw * sh, `${sw}x${sh}`);
  const out = new Float32Array(dw * dh);
  const sx = sw / dw;
  const sy = sh / dh;
  for (let y = 0; y < dh; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), sh - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, sh - 1);
    const wy = fy - y0;
    for (let x = 0; x < dw; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), sw - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, sw - 1);
      const wx = fx - x0;
      const top = prob[y0 * sw + x0] * (1 - wx) + prob[y0 * sw + x1] * wx;
      const bot = prob[y1 * sw + x0] * (1 - wx) + prob[y1 * sw + x1] * wx;
      out[y * dw + x] = top * (1 - wy) + bot * wy;
    }
  }
  return out;
}

function squareSide(what: string, prob: ArrayLike<number>): number {
  const s = Math.round(Math.sqrt(prob.length));
  if (s * s !== prob.length || s === 0) {
    throw new Error(`${what}: expected a square S*S probability map; found ${prob.length} values (not a perfect square). Pass the network output for one image.`);
  }
  return s;
}

// ---------------------------------------------------------------------------------------------------------
// PNG encoding (exact pixel values; 8-bit grey for masks as ISIC ships them, RGB for pictures)

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** PNG of 8-bit pixels, `channels` 1 (grey) or 3 (RGB), row-major; every scanline uses filter 0 (none). */
export function encodePng(pixels: Uint8Array, width: number, height: number, channels: 1 | 3): Buffer {
  checkLength('encodePng pixels', pixels, width * height * channels, `${width}x${height}x${channels}`);
  const stride = width * channels;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0;
    Buffer.from(pixels.buffer, pixels.byteOffset + y * stride, stride).copy(raw, y * (stride + 1) + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = channels === 1 ? 0 : 2; // colour type: grey / truecolour
  ihdr[10] = 0; // deflate
  ihdr[11] = 0; // adaptive filtering
  ihdr[12] = 0; // no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', zlib.deflateSync(raw)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

async function writeAtomic(file: string, data: Buffer): Promise<void> {
  await fs.promises.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFileAtomic(file, data);
}

/**
 * `melseg predict` mask: the S*S probability map resized (bilinear) to the original w*h, thresholded at
 * `threshold` (0.5), written as an 8-bit grey PNG with values 0/255.
 */
export async function saveMaskPng(prob: Float32Array, w: number, h: number, file: string, threshold = 0.5): Promise<void> {
  const s = squareSide(`saveMaskPng(${file})`, prob);
  const big = resizeProbability(prob, s, s, w, h);
  const px = new Uint8Array(w * h);
  for (let i = 0; i < px.length; i++) px[i] = big[i] >= threshold ? 255 : 0;
  await writeAtomic(file, encodePng(px, w, h, 1));
}

/**
 * `melseg predict` overlay at original size: `image` is the original w*h*3 RGB, `prob` the S*S network
 * output (resized to w*h here).
 */
export async function saveOverlayPng(
  image: Uint8Array,
  prob: Float32Array,
  w: number,
  h: number,
  file: string,
  opts: Omit<OverlayOptions, 'height'> = {},
): Promise<void> {
  const s = squareSide(`saveOverlayPng(${file})`, prob);
  const big = s === w && s === h ? prob : resizeProbability(prob, s, s, w, h);
  await writeAtomic(file, encodePng(overlayImage(image, big, w, { ...opts, height: h }), w, h, 3));
}

// ---------------------------------------------------------------------------------------------------------
// The grid

export interface GridOptions {
  /** White gap between and around tiles, 2..4 px. Default 3. */
  gutter?: number;
  /** Column titles row. Default true. */
  header?: boolean;
  /** A caption strip above each row: id and the thresholded IoU. Default true. */
  captions?: boolean;
  /** A footer line explaining the overlay colours. Default true. */
  legend?: boolean;
  threshold?: number;
}

export interface GridLayout {
  width: number;
  height: number;
  gutter: number;
  fontPx: number;
  headerH: number;
  captionH: number;
  legendH: number;
  /** Top-left of tile (row, col), col 0 image, 1 prediction, 2 ground truth, 3 overlay. */
  tile(row: number, col: number): { x: number; y: number };
}

export const GRID_COLUMNS = ['image', 'prediction', 'ground truth', 'overlay'] as const;

/**
 * width = 4S + 5g; height = g + header + n(caption + S + g) + legend, where header = legend = font + 8 and
 * caption = font + 4 when enabled (0 otherwise), font = clamp(round(S / 11), 10, 16) px.
 */
export function gridLayout(n: number, S: number, opts: GridOptions = {}): GridLayout {
  const g = opts.gutter ?? 3;
  if (!Number.isInteger(g) || g < 2 || g > 4) throw new Error(`predictionGrid: expected gutter 2..4 px; found ${g}.`);
  const fontPx = Math.min(16, Math.max(10, Math.round(S / 11)));
  const headerH = opts.header === false ? 0 : fontPx + 8;
  const captionH = opts.captions === false ? 0 : fontPx + 4;
  const legendH = opts.legend === false ? 0 : fontPx + 8;
  const rowH = captionH + S + g;
  return {
    width: 4 * S + 5 * g,
    height: g + headerH + n * rowH + legendH,
    gutter: g,
    fontPx,
    headerH,
    captionH,
    legendH,
    tile: (row, col) => ({ x: g + col * (S + g), y: g + headerH + row * rowH + captionH }),
  };
}

/** IoU of the thresholded prediction against the mask; 1 when both are empty (nothing to find, nothing found). */
export function maskIoU(pred: Uint8Array, mask: Uint8Array): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < pred.length; i++) {
    const p = pred[i] !== 0;
    const m = mask[i] !== 0;
    if (p && m) inter++;
    if (p || m) union++;
  }
  return union === 0 ? 1 : inter / union;
}

/** Text shrunk (down to 7 px) and then ellipsised until it fits maxWidth. */
function fitText(ctx: CanvasRenderingContext2D, text: string, maxWidth: number, fontPx: number, weight = ''): string {
  let px = fontPx;
  ctx.font = `${weight} ${px}px sans-serif`.trim();
  while (ctx.measureText(text).width > maxWidth && px > 7) {
    px--;
    ctx.font = `${weight} ${px}px sans-serif`.trim();
  }
  let t = text;
  while (t.length > 1 && ctx.measureText(t).width > maxWidth) t = t.slice(0, -2) + '…';
  return t;
}

/**
 * PNG with one row per item: image | prediction (probability as grey, p*255) | ground truth (mask*255) |
 * overlay (legend in the file comment); white gutters, optional titles, per-row captions (id, IoU at the
 * threshold) and a colour legend footer. Written atomically. Returns the layout (for callers placing it in a report).
 */
export async function predictionGrid(items: readonly GridItem[], S: number, file: string, opts: GridOptions = {}): Promise<GridLayout> {
  if (items.length === 0) throw new Error(`predictionGrid(${file}): expected at least one item; found none. Pass the images to show.`);
  if (!Number.isInteger(S) || S < 1) throw new Error(`predictionGrid(${file}): expected a positive integer size S; found ${S}.`);
  items.forEach((it, k) => {
    checkLength(`predictionGrid item ${k} (${it.id}) image`, it.image, S * S * 3, `${S}x${S}x3 RGB`);
    checkLength(`predictionGrid item ${k} (${it.id}) prob`, it.prob, S * S, `${S}x${S} probabilities`);
    checkLength(`predictionGrid item ${k} (${it.id}) mask`, it.mask, S * S, `${S}x${S} 0/1 mask`);
  });
  const threshold = opts.threshold ?? 0.5;
  const L = gridLayout(items.length, S, opts);
  const canvas = createCanvas(L.width, L.height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, L.width, L.height);
  ctx.textBaseline = 'middle';

  if (L.headerH > 0) {
    ctx.fillStyle = '#222222';
    GRID_COLUMNS.forEach((title, col) => {
      const { x } = L.tile(0, col);
      const cy = L.gutter + L.headerH / 2;
      const t = fitText(ctx, title, S, L.fontPx, 'bold');
      ctx.fillText(t, x + (S - ctx.measureText(t).width) / 2, cy);
    });
  }

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

  items.forEach((it, row) => {
    const pred = probToMask(it.prob, threshold);
    const ov = overlayImage(it.image, it.prob, S, { mask: it.mask, threshold });
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
      const t = fitText(ctx, `${it.id}   IoU ${maskIoU(pred, it.mask).toFixed(3)}`, L.width - 2 * L.gutter, L.fontPx - 1);
      ctx.fillText(t, x, y - L.captionH / 2);
    }
  });

  if (L.legendH > 0) drawLegend(ctx, L.gutter, L.height - L.legendH / 2 - 1, L.width - 2 * L.gutter, L.fontPx - 1);

  await writeAtomic(file, canvas.toBuffer('image/png'));
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
  ctx.font = `${fontPx}px sans-serif`;
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
