/**
 * Geometric resampling of HWC pixel arrays: separable bilinear (antialiased when shrinking) and
 * nearest neighbour, each over an integer source box, with optional output flips.
 * Pure math with no dependencies, so that the augmentation worker can load it cheaply.
 *
 * Coordinates follow align_corners=false (PyTorch, PIL): output pixel x covers source interval
 * [x*scale, (x+1)*scale) of the box, centre c = box.x + (x + 0.5) * scale, scale = box.w / outW.
 */

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface ResampleOptions {
  /** Widen the triangle filter to `scale` source pixels when shrinking (PIL's BILINEAR). Default true. */
  antialias?: boolean;
  /** Mirror the output left-right / top-bottom (equivalent to resizing, then flipping). */
  flipX?: boolean;
  flipY?: boolean;
}

/** Filter taps of one axis: output o reads source indices start[o] .. start[o]+count[o]-1. */
interface Taps {
  start: Int32Array;
  count: Int32Array;
  /** weights[o * maxTaps + k] for the k-th tap of output o; each row sums to 1. */
  weights: Float32Array;
  maxTaps: number;
}

/**
 * Triangle-filter taps (PIL's bilinear). With support s = max(1, scale) when antialiasing, source
 * pixel i gets weight max(0, 1 - |i + 0.5 - c| / s), then weights are normalised to sum 1 over the
 * pixels inside the box. For upsampling (s = 1) this is exactly PyTorch's bilinear with
 * align_corners=false, including its edge clamp (the out-of-box neighbour is dropped and the
 * remaining weight renormalised, which equals clamping the coordinate).
 */
function bilinearTaps(start0: number, length: number, outSize: number, antialias: boolean): Taps {
  const scale = length / outSize;
  const support = antialias && scale > 1 ? scale : 1;
  const maxTaps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * maxTaps);
  const end0 = start0 + length;
  for (let o = 0; o < outSize; o++) {
    const c = start0 + (o + 0.5) * scale;
    const lo = Math.max(start0, Math.floor(c - support));
    const hi = Math.min(end0 - 1, Math.ceil(c + support));
    let n = 0;
    let sum = 0;
    const tmp: number[] = [];
    for (let i = lo; i <= hi; i++) {
      const w = 1 - Math.abs(i + 0.5 - c) / support;
      tmp.push(w > 0 ? w : 0);
      sum += w > 0 ? w : 0;
    }
    // Trim zero-weight taps at both ends so that `count` stays within maxTaps.
    let a = 0;
    let b = tmp.length - 1;
    while (a < b && tmp[a] === 0) a++;
    while (b > a && tmp[b] === 0) b--;
    for (let k = a; k <= b; k++) weights[o * maxTaps + n++] = sum > 0 ? tmp[k] / sum : 1;
    start[o] = lo + a;
    count[o] = n;
  }
  return { start, count, weights, maxTaps };
}

function checkBox(box: Box, width: number, height: number): void {
  const ok =
    Number.isInteger(box.x) && Number.isInteger(box.y) && Number.isInteger(box.w) && Number.isInteger(box.h) &&
    box.x >= 0 && box.y >= 0 && box.w > 0 && box.h > 0 && box.x + box.w <= width && box.y + box.h <= height;
  if (!ok) {
    throw new Error(
      `resample: box ${JSON.stringify(box)} is not an integer box inside the ${width}x${height} source; ` +
        'expected 0 <= x, x + w <= width, 0 <= y, y + h <= height with w, h > 0',
    );
  }
}

/**
 * Bilinear resampling of `box` of an HWC array (any numeric values) to outW x outH, as Float32
 * (no rounding): horizontal pass into a boxH x outW buffer, then vertical pass.
 */
export function resampleBilinear(
  src: ArrayLike<number>,
  width: number,
  height: number,
  channels: number,
  box: Box,
  outW: number,
  outH: number,
  opts: ResampleOptions = {},
): Float32Array {
  checkBox(box, width, height);
  const antialias = opts.antialias ?? true;
  const tmp = resampleRows(src, width, channels, box, outW, bilinearTaps(box.x, box.w, outW, antialias), opts.flipX ?? false);
  return resampleColumns(tmp, channels, box, outW, outH, bilinearTaps(box.y, box.h, outH, antialias), opts.flipY ?? false);
}

/** Horizontal pass of resampleBilinear: the box's rows resampled to outW columns (box.h x outW x C). */
function resampleRows(src: ArrayLike<number>, width: number, C: number, box: Box, outW: number, tx: Taps, flipX: boolean): Float32Array {
  const tmp = new Float32Array(box.h * outW * C);
  const xw = tx.weights;
  const xStart = tx.start;
  const xCount = tx.count;
  // Per output value: acc = sum over taps k (in order) of w[k] * src, in float64, stored as float32.
  // RGB is unrolled (three accumulators, each summed in the same order as the generic loop).
  for (let r = 0; r < box.h; r++) {
    const srcRow = (box.y + r) * width * C;
    for (let ox = 0; ox < outW; ox++) {
      const t = flipX ? outW - 1 - ox : ox;
      const n = xCount[t];
      const wOff = t * tx.maxTaps;
      const dst = (r * outW + ox) * C;
      if (C === 3) {
        let s = srcRow + xStart[t] * 3;
        let a0 = 0;
        let a1 = 0;
        let a2 = 0;
        for (let k = 0; k < n; k++, s += 3) {
          const w = xw[wOff + k];
          a0 += w * src[s];
          a1 += w * src[s + 1];
          a2 += w * src[s + 2];
        }
        tmp[dst] = a0;
        tmp[dst + 1] = a1;
        tmp[dst + 2] = a2;
      } else {
        const s0 = xStart[t];
        for (let ch = 0; ch < C; ch++) {
          let acc = 0;
          for (let k = 0; k < n; k++) acc += xw[wOff + k] * src[srcRow + (s0 + k) * C + ch];
          tmp[dst + ch] = acc;
        }
      }
    }
  }
  return tmp;
}

/** Vertical pass of resampleBilinear: resampleRows' output (box.h rows) resampled to outH rows. */
function resampleColumns(tmp: Float32Array, C: number, box: Box, outW: number, outH: number, ty: Taps, flipY: boolean): Float32Array {
  const out = new Float32Array(outH * outW * C);
  const rowLen = outW * C;
  for (let oy = 0; oy < outH; oy++) {
    const t = flipY ? outH - 1 - oy : oy;
    const r0 = ty.start[t] - box.y;
    const n = ty.count[t];
    const wOff = t * ty.maxTaps;
    const dst = oy * rowLen;
    for (let k = 0; k < n; k++) {
      const w = ty.weights[wOff + k];
      const srcOff = (r0 + k) * rowLen;
      for (let i = 0; i < rowLen; i++) out[dst + i] += w * tmp[srcOff + i];
    }
  }
  return out;
}

/**
 * Nearest-neighbour resampling of `box` (PIL NEAREST / PyTorch 'nearest-exact'): output o reads
 * source box.x + min(floor((o + 0.5) * scale), box.w - 1). Values are copied, so a 0/1 mask stays 0/1.
 */
export function resampleNearest(
  src: Uint8Array,
  width: number,
  height: number,
  channels: number,
  box: Box,
  outW: number,
  outH: number,
  opts: Pick<ResampleOptions, 'flipX' | 'flipY'> = {},
): Uint8Array {
  checkBox(box, width, height);
  const C = channels;
  const sx = new Int32Array(outW);
  for (let o = 0; o < outW; o++) {
    const t = opts.flipX ? outW - 1 - o : o;
    sx[o] = box.x + Math.min(Math.floor(((t + 0.5) * box.w) / outW), box.w - 1);
  }
  const out = new Uint8Array(outW * outH * C);
  for (let oy = 0; oy < outH; oy++) {
    const t = opts.flipY ? outH - 1 - oy : oy;
    const y = box.y + Math.min(Math.floor(((t + 0.5) * box.h) / outH), box.h - 1);
    const srcRow = y * width * C;
    const dstRow = oy * outW * C;
    for (let ox = 0; ox < outW; ox++) {
      const s = srcRow + sx[ox] * C;
      const d = dstRow + ox * C;
      for (let ch = 0; ch < C; ch++) out[d + ch] = src[s + ch];
    }
  }
  return out;
}
