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
    sum += k[i]!;
  }
  for (let i = 0; i < size; i++) k[i]! /= sum;
  return k;
}

/** Separable Gaussian blur with kernel kx (width) x ky (height), same sigma on both axes, reflect padding. */
export function gaussianBlur(img: Float32Array, width: number, height: number, kx: number, ky: number, sigma: number): void {
  const C = 3;
  const wx = gaussianKernel1d(kx, sigma);
  const wy = gaussianKernel1d(ky, sigma);
  const hx = (kx - 1) >> 1;
  const hy = (ky - 1) >> 1;
  // Reflected source column of output x, tap k, precomputed: xs[x * kx + k].
  const xs = new Int32Array(width * kx);
  for (let x = 0; x < width; x++) for (let k = 0; k < kx; k++) xs[x * kx + k] = reflect(x + k - hx, width) * C;
  const tmp = new Float32Array(img.length);
  for (let y = 0; y < height; y++) {
    const row = y * width * C;
    for (let x = 0; x < width; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = 0; k < kx; k++) {
        const s = row + xs[x * kx + k]!;
        const w = wx[k]!;
        r += w * img[s]!;
        g += w * img[s + 1]!;
        b += w * img[s + 2]!;
      }
      const d = row + x * C;
      tmp[d] = r;
      tmp[d + 1] = g;
      tmp[d + 2] = b;
    }
  }
  const rowLen = width * C;
  const ys = new Int32Array(ky);
  for (let y = 0; y < height; y++) {
    for (let k = 0; k < ky; k++) ys[k] = reflect(y + k - hy, height) * rowLen;
    const d = y * rowLen;
    for (let i = 0; i < rowLen; i++) {
      let acc = 0;
      for (let k = 0; k < ky; k++) acc += wy[k]! * tmp[ys[k]! + i]!;
      img[d + i] = acc;
    }
  }
}

/** rgb_to_grayscale, replicated to 3 channels. */
export function greyscale(img: Float32Array): void {
  for (let i = 0; i < img.length; i += 3) {
    const l = LUMA[0] * img[i]! + LUMA[1] * img[i + 1]! + LUMA[2] * img[i + 2]!;
    img[i] = img[i + 1] = img[i + 2] = l;
  }
}

/**
 * autocontrast: per channel, x' = clamp((x - min) / (max - min)); a constant channel is left as is
 * (torchvision sets min = 0, max = 1 there).
 */
export function autocontrast(img: Float32Array): void {
  for (let c = 0; c < 3; c++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = c; i < img.length; i += 3) {
      const v = img[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (!(hi > lo)) continue;
    const scale = 1 / (hi - lo);
    for (let i = c; i < img.length; i += 3) img[i] = clamp01((img[i]! - lo) * scale);
  }
}

/** adjust_brightness: x' = clamp(f x). */
export function adjustBrightness(img: Float32Array, f: number): void {
  for (let i = 0; i < img.length; i++) img[i] = clamp01(f * img[i]!);
}

/** adjust_contrast: x' = clamp(f x + (1 - f) mean), mean = the image's mean luma (one scalar). */
export function adjustContrast(img: Float32Array, f: number): void {
  let sum = 0;
  for (let i = 0; i < img.length; i += 3) sum += LUMA[0] * img[i]! + LUMA[1] * img[i + 1]! + LUMA[2] * img[i + 2]!;
  const mean = sum / (img.length / 3);
  const m = (1 - f) * mean;
  for (let i = 0; i < img.length; i++) img[i] = clamp01(f * img[i]! + m);
}

/** adjust_saturation: x' = clamp(f x + (1 - f) luma(pixel)). */
export function adjustSaturation(img: Float32Array, f: number): void {
  for (let i = 0; i < img.length; i += 3) {
    const m = (1 - f) * (LUMA[0] * img[i]! + LUMA[1] * img[i + 1]! + LUMA[2] * img[i + 2]!);
    img[i] = clamp01(f * img[i]! + m);
    img[i + 1] = clamp01(f * img[i + 1]! + m);
    img[i + 2] = clamp01(f * img[i + 2]! + m);
  }
}

/**
 * adjust_hue: rotate hue by `shift` turns (|shift| <= 0.5) in HSV, as torchvision's
 * _rgb_to_hsv / _hsv_to_rgb: h' = (h + shift) mod 1, s and v unchanged.
 */
export function adjustHue(img: Float32Array, shift: number): void {
  for (let i = 0; i < img.length; i += 3) {
    const r = img[i]!;
    const g = img[i + 1]!;
    const b = img[i + 2]!;
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
