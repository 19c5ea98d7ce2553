/**
 * Photometric operations on float RGB images in [0, 1], row-major HWC, in place.
 * Each follows torchvision.transforms.v2.functional on float tensors (same formulas, same
 * clamping), so a model trained here sees the same distribution as the study's PyTorch pipeline.
 */

/** ITU-R 601 luma weights used by torchvision's rgb_to_grayscale. */
const LUMA = [0.2989, 0.587, 0.114] as const;

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/** Index reflection without repeating the edge (PyTorch 'reflect' padding): -1 -> 1, n -> n - 2. */
function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let j = ((i % period) + period) % period;
  if (j >= n) j = period - j;
  return j;
}

/** torchvision's _get_gaussian_kernel1d: exp(-x^2 / (2 sigma^2)) at x = -(k-1)/2 .. (k-1)/2, normalised. */
export function gaussianKernel1d(size: number, sigma: number): Float32Array {
  const k = new Float32Array(size);
  const half = (size - 1) / 2;
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const x = (i - half) / sigma;
    k[i] = Math.exp(-0.5 * x * x);
    sum += k[i];
  }
  for (let i = 0; i < size; i++) k[i] /= sum;
  return k;
}

/**
 * Separable Gaussian blur with kernel kx (width) x ky (height), same sigma on both axes, reflect
 * padding. Each output is the sum over taps k = 0.. in order of w[k] * x[k], accumulated in float64
 * and stored as float32 (one rounding per pass), however the loops below are arranged.
 */
export function gaussianBlur(img: Float32Array, width: number, height: number, kx: number, ky: number, sigma: number): void {
  const tmp = new Float32Array(img.length);
  blurRows(img, tmp, width, height, Float64Array.from(gaussianKernel1d(kx, sigma)));
  blurColumns(tmp, img, width, height, Float64Array.from(gaussianKernel1d(ky, sigma)));
}

/**
 * Horizontal pass of gaussianBlur (RGB, img -> tmp). Reflected source offsets are tabulated for the
 * columns near the two edges; the columns in between read x - hx .. x + hx directly.
 */
function blurRows(img: Float32Array, tmp: Float32Array, width: number, height: number, wx: Float64Array): void {
  const C = 3;
  const kx = wx.length;
  const hx = (kx - 1) >> 1;
  const rowLen = width * C;
  const edge = (x: number): boolean => x < hx || x + hx >= width;
  const xs = new Int32Array(kx);
  for (let y = 0; y < height; y++) {
    const row = y * rowLen;
    for (let x = 0; x < width; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      if (edge(x)) {
        for (let k = 0; k < kx; k++) xs[k] = row + reflect(x + k - hx, width) * C;
        for (let k = 0; k < kx; k++) {
          const s = xs[k];
          const w = wx[k];
          r += w * img[s];
          g += w * img[s + 1];
          b += w * img[s + 2];
        }
      } else {
        let s = row + (x - hx) * C;
        for (let k = 0; k < kx; k++, s += C) {
          const w = wx[k];
          r += w * img[s];
          g += w * img[s + 1];
          b += w * img[s + 2];
        }
      }
      const d = row + x * C;
      tmp[d] = r;
      tmp[d + 1] = g;
      tmp[d + 2] = b;
    }
  }
}

/**
 * Vertical pass of gaussianBlur (RGB, tmp -> img): whole rows at a time into a float64 accumulator
 * row, up to four taps per sweep (still added one after another, in tap order).
 */
function blurColumns(tmp: Float32Array, img: Float32Array, width: number, height: number, wy: Float64Array): void {
  const ky = wy.length;
  const hy = (ky - 1) >> 1;
  const rowLen = width * 3;
  const acc = new Float64Array(rowLen);
  const rows = new Int32Array(ky);
  for (let y = 0; y < height; y++) {
    for (let k = 0; k < ky; k++) rows[k] = reflect(y + k - hy, height) * rowLen;
    acc.fill(0);
    let k = 0;
    for (; k + 4 <= ky; k += 4) {
      const r0 = rows[k], r1 = rows[k + 1], r2 = rows[k + 2], r3 = rows[k + 3];
      const w0 = wy[k], w1 = wy[k + 1], w2 = wy[k + 2], w3 = wy[k + 3];
      for (let i = 0; i < rowLen; i++) {
        let a = acc[i];
        a += w0 * tmp[r0 + i];
        a += w1 * tmp[r1 + i];
        a += w2 * tmp[r2 + i];
        a += w3 * tmp[r3 + i];
        acc[i] = a;
      }
    }
    for (; k < ky; k++) {
      const r = rows[k];
      const w = wy[k];
      for (let i = 0; i < rowLen; i++) acc[i] += w * tmp[r + i];
    }
    const d = y * rowLen;
    for (let i = 0; i < rowLen; i++) img[d + i] = acc[i];
  }
}

/** rgb_to_grayscale, replicated to 3 channels. */
export function greyscale(img: Float32Array): void {
  for (let i = 0; i < img.length; i += 3) {
    const l = LUMA[0] * img[i] + LUMA[1] * img[i + 1] + LUMA[2] * img[i + 2];
    img[i] = img[i + 1] = img[i + 2] = l;
  }
}

/**
 * autocontrast: per channel, x' = clamp((x - min) / (max - min)); a constant channel is left as is
 * (torchvision sets min = 0, max = 1 there).
 */
export function autocontrast(img: Float32Array): void {
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  let r0 = Infinity, g0 = Infinity, b0 = Infinity, r1 = -Infinity, g1 = -Infinity, b1 = -Infinity;
  for (let i = 0; i < img.length; i += 3) {
    const r = img[i];
    const g = img[i + 1];
    const b = img[i + 2];
    if (r < r0) r0 = r;
    if (r > r1) r1 = r;
    if (g < g0) g0 = g;
    if (g > g1) g1 = g;
    if (b < b0) b0 = b;
    if (b > b1) b1 = b;
  }
  lo[0] = r0; lo[1] = g0; lo[2] = b0;
  hi[0] = r1; hi[1] = g1; hi[2] = b1;
  if (r1 > r0 && g1 > g0 && b1 > b0) {
    const sr = 1 / (r1 - r0);
    const sg = 1 / (g1 - g0);
    const sb = 1 / (b1 - b0);
    for (let i = 0; i < img.length; i += 3) {
      img[i] = clamp01((img[i] - r0) * sr);
      img[i + 1] = clamp01((img[i + 1] - g0) * sg);
      img[i + 2] = clamp01((img[i + 2] - b0) * sb);
    }
    return;
  }
  for (let c = 0; c < 3; c++) {
    const l = lo[c];
    if (!(hi[c] > l)) continue;
    const scale = 1 / (hi[c] - l);
    for (let i = c; i < img.length; i += 3) img[i] = clamp01((img[i] - l) * scale);
  }
}

/** adjust_brightness: x' = clamp(f x). */
export function adjustBrightness(img: Float32Array, f: number): void {
  for (let i = 0; i < img.length; i++) img[i] = clamp01(f * img[i]);
}

/** adjust_contrast: x' = clamp(f x + (1 - f) mean), mean = the image's mean luma (one scalar). */
export function adjustContrast(img: Float32Array, f: number): void {
  let sum = 0;
  for (let i = 0; i < img.length; i += 3) sum += LUMA[0] * img[i] + LUMA[1] * img[i + 1] + LUMA[2] * img[i + 2];
  const mean = sum / (img.length / 3);
  const m = (1 - f) * mean;
  for (let i = 0; i < img.length; i++) img[i] = clamp01(f * img[i] + m);
}

/** adjust_saturation: x' = clamp(f x + (1 - f) luma(pixel)). */
export function adjustSaturation(img: Float32Array, f: number): void {
  for (let i = 0; i < img.length; i += 3) {
    const m = (1 - f) * (LUMA[0] * img[i] + LUMA[1] * img[i + 1] + LUMA[2] * img[i + 2]);
    img[i] = clamp01(f * img[i] + m);
    img[i + 1] = clamp01(f * img[i + 1] + m);
    img[i + 2] = clamp01(f * img[i + 2] + m);
  }
}

/**
 * adjust_hue: rotate hue by `shift` turns (|shift| <= 0.5) in HSV, as torchvision's
 * _rgb_to_hsv / _hsv_to_rgb: h' = (h + shift) mod 1, s and v unchanged.
 */
export function adjustHue(img: Float32Array, shift: number): void {
  for (let i = 0; i < img.length; i += 3) {
    const r = img[i];
    const g = img[i + 1];
    const b = img[i + 2];
    const maxc = Math.max(r, g, b);
    const minc = Math.min(r, g, b);
    const cr = maxc - minc;
    if (cr === 0) continue; // grey: hue undefined, rotation is the identity
    const v = maxc;
    const s = cr / maxc;
    let h: number;
    if (maxc === r) h = (g - b) / cr;
    else if (maxc === g) h = 2 + (b - r) / cr;
    else h = 4 + (r - g) / cr;
    h = h / 6 + shift;
    h -= Math.floor(h);
    const h6 = h * 6;
    const k = Math.floor(h6) % 6;
    const f = h6 - Math.floor(h6);
    const p = clamp01(v * (1 - s));
    const q = clamp01(v * (1 - s * f));
    const t = clamp01(v * (1 - s * (1 - f)));
    let rr: number, gg: number, bb: number;
    switch (k) {
      case 0: rr = v; gg = t; bb = p; break;
      case 1: rr = q; gg = v; bb = p; break;
      case 2: rr = p; gg = v; bb = t; break;
      case 3: rr = p; gg = q; bb = v; break;
      case 4: rr = t; gg = p; bb = v; break;
      default: rr = v; gg = p; bb = q; break;
    }
    img[i] = rr;
    img[i + 1] = gg;
    img[i + 2] = bb;
  }
}
