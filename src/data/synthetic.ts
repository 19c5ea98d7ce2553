/**
 * Procedural lesion-like images for smoke tests and benchmarks without downloads.
 *
 * Sample i is drawn from Rng.derive(SYNTHETIC_SEED, STREAM.synthetic, i) in coordinates normalised
 * to [0, 1], so `synthetic:N` is deterministic, is a prefix of `synthetic:M` for M > N, and looks the
 * same at every size (up to pixel noise). Each image: a skin-toned background with low-frequency
 * shading, a dermoscope-like vignette and pixel noise; one lesion, sometimes a second smaller one,
 * each a dark blob with an irregular boundary r(t) = r0 (1 + sum_k a_k sin(k t + p_k)); sometimes
 * dark hairs drawn over everything. The mask is the union of the blobs (hairs are not lesion).
 */
import { Rng, STREAM } from './rng';

export const SYNTHETIC_SEED = 0x5eed_2017;

interface Blob {
  cx: number;
  cy: number;
  r0: number;
  harmonics: { k: number; a: number; p: number }[];
  rgb: [number, number, number];
}

function drawBlob(rng: Rng, primary: boolean): Blob {
  const harmonics = [];
  for (let k = 2; k <= 6; k++) harmonics.push({ k, a: rng.uniform(0, 0.25 / k), p: rng.uniform(0, 2 * Math.PI) });
  const r = rng.uniform(55, 125);
  const g = r * rng.uniform(0.55, 0.75);
  const b = g * rng.uniform(0.6, 0.9);
  return {
    cx: primary ? rng.uniform(0.3, 0.7) : rng.uniform(0.2, 0.8),
    cy: primary ? rng.uniform(0.3, 0.7) : rng.uniform(0.2, 0.8),
    r0: primary ? rng.uniform(0.1, 0.24) : rng.uniform(0.05, 0.11),
    harmonics,
    rgb: [r, g, b],
  };
}

/** Boundary radius of the blob in direction t. */
function radius(b: Blob, t: number): number {
  let s = 1;
  for (const h of b.harmonics) s += h.a * Math.sin(h.k * t + h.p);
  return b.r0 * s;
}

/** The per-image parameters of a sample's background and lesions, drawn in this order from its stream. */
interface Scene {
  skin: [number, number, number];
  /** Low-frequency shading: plane waves over the whole image. */
  waves: { amp: number; fx: number; fy: number; p: number }[];
  vignette: number;
  noise: number;
  blobs: Blob[];
  /** Lesion texture: a few plane waves of random direction (pigment network-ish mottling). */
  texture: { fx: number; fy: number; p: number; amp: number }[];
}

function drawScene(rng: Rng): Scene {
  const skinR = rng.uniform(185, 235);
  const skin: [number, number, number] = [skinR, skinR * rng.uniform(0.7, 0.82), 0];
  skin[2] = skin[1] * rng.uniform(0.78, 0.92);
  const waves = Array.from({ length: 3 }, () => ({
    amp: rng.uniform(3, 10),
    fx: rng.uniform(-3, 3) * 2 * Math.PI,
    fy: rng.uniform(-3, 3) * 2 * Math.PI,
    p: rng.uniform(0, 2 * Math.PI),
  }));
  const vignette = rng.uniform(0.15, 0.5);
  const noise = rng.uniform(2, 6);
  const blobs = [drawBlob(rng, true)];
  if (rng.bernoulli(0.3)) blobs.push(drawBlob(rng, false));
  const texture = Array.from({ length: 3 }, () => {
    const f = rng.uniform(6, 16) * 2 * Math.PI;
    const t = rng.uniform(0, Math.PI);
    return { fx: f * Math.cos(t), fy: f * Math.sin(t), p: rng.uniform(0, 2 * Math.PI), amp: rng.uniform(0.02, 0.07) };
  });
  return { skin, waves, vignette, noise, blobs, texture };
}

/**
 * Paints the shaded, vignetted skin with the lesions over it into rgb (S*S*3, unclamped) plus pixel
 * noise from rng, and the union of the blobs into masks. One pass per pixel: the per-pixel loop stays
 * whole because the noise is drawn in pixel order.
 */
function paintSkinAndLesions(scene: Scene, rng: Rng, S: number, rgb: Float32Array, masks: Uint8Array, maskOff: number): void {
  const { skin, waves, vignette, noise, blobs, texture } = scene;
  const px = 1 / S; // one pixel in normalised units: the width of the image's soft lesion edge
  for (let y = 0; y < S; y++) {
    const v = (y + 0.5) / S;
    for (let x = 0; x < S; x++) {
      const u = (x + 0.5) / S;
      let shade = 0;
      for (const w of waves) shade += w.amp * Math.sin(w.fx * u + w.fy * v + w.p);
      // Vignette: brightness 1 - k d^2, d = distance from the centre, 1 at the corners.
      const d2 = ((u - 0.5) ** 2 + (v - 0.5) ** 2) / 0.5;
      const vig = 1 - vignette * d2;
      let r = skin[0] + shade;
      let g = skin[1] + shade;
      let b = skin[2] + shade;
      let inside = 0;
      for (const bl of blobs) {
        const dx = u - bl.cx;
        const dy = v - bl.cy;
        const d = Math.sqrt(dx * dx + dy * dy);
        const rb = radius(bl, Math.atan2(dy, dx));
        if (d < rb) inside = 1;
        // Soft 1.5-pixel edge in the image; darker core (lightness grows with (d / rb)^2), mottled.
        const alpha = Math.min(1, Math.max(0, (rb - d) / (1.5 * px) + 0.5));
        if (alpha > 0) {
          const rim = Math.min(1, (d / rb) ** 2) * 0.35;
          let mottle = 1;
          for (const w of texture) mottle += w.amp * Math.sin(w.fx * u + w.fy * v + w.p);
          const lr = (bl.rgb[0] * (1 - rim) + r * rim) * mottle;
          const lg = (bl.rgb[1] * (1 - rim) + g * rim) * mottle;
          const lb = (bl.rgb[2] * (1 - rim) + b * rim) * mottle;
          r = r * (1 - alpha) + lr * alpha;
          g = g * (1 - alpha) + lg * alpha;
          b = b * (1 - alpha) + lb * alpha;
        }
      }
      const o = (y * S + x) * 3;
      rgb[o] = r * vig + noise * rng.normal();
      rgb[o + 1] = g * vig + noise * rng.normal();
      rgb[o + 2] = b * vig + noise * rng.normal();
      masks[maskOff + y * S + x] = inside;
    }
  }
}

/**
 * The coverage (S*S, 0..1) of `hairs` quadratic Bezier curves between random points beyond the
 * borders, each pixel taking the maximum over the strokes so that crossing strokes do not darken twice.
 */
function hairCoverage(rng: Rng, S: number, hairs: number, halfWidth: number): Float32Array {
  const cover = new Float32Array(S * S);
  const steps = 3 * S;
  const reach = Math.ceil(halfWidth + 1);
  for (let h = 0; h < hairs; h++) {
    const p = Array.from({ length: 3 }, () => [rng.uniform(-0.1, 1.1) * S, rng.uniform(-0.1, 1.1) * S] as const);
    for (let s = 0; s <= steps; s++) {
      const t = s / steps;
      const a = (1 - t) * (1 - t);
      const b2 = 2 * (1 - t) * t;
      const c = t * t;
      const hx = a * p[0][0] + b2 * p[1][0] + c * p[2][0];
      const hy = a * p[0][1] + b2 * p[1][1] + c * p[2][1];
      const x0 = Math.floor(hx);
      const y0 = Math.floor(hy);
      for (let yy = y0 - reach; yy <= y0 + reach; yy++) {
        if (yy < 0 || yy >= S) continue;
        for (let xx = x0 - reach; xx <= x0 + reach; xx++) {
          if (xx < 0 || xx >= S) continue;
          const dist = Math.hypot(xx + 0.5 - hx, yy + 0.5 - hy);
          const cov = Math.min(1, Math.max(0, halfWidth - dist + 0.5));
          if (cov > cover[yy * S + xx]) cover[yy * S + xx] = cov;
        }
      }
    }
  }
  return cover;
}

/** Sometimes (p = 0.4) dark hairs drawn over everything in rgb. */
function paintHairs(rng: Rng, S: number, rgb: Float32Array): void {
  if (!rng.bernoulli(0.4)) return;
  const hairs = rng.int(1, 5);
  const halfWidth = Math.max(0.5, rng.uniform(0.002, 0.004) * S);
  const cover = hairCoverage(rng, S, hairs, halfWidth);
  const hair = [rng.uniform(25, 60), 0, 0];
  hair[1] = hair[0] * 0.8;
  hair[2] = hair[0] * 0.7;
  for (let k = 0; k < S * S; k++) {
    const c = cover[k];
    if (c === 0) continue;
    for (let ch = 0; ch < 3; ch++) rgb[k * 3 + ch] = rgb[k * 3 + ch] * (1 - c) + hair[ch] * c;
  }
}

/** Draws sample i into image (S*S*3) and mask (S*S) at the given offsets. */
function drawSample(i: number, S: number, images: Uint8Array, imgOff: number, masks: Uint8Array, maskOff: number): void {
  const rng = Rng.derive(SYNTHETIC_SEED, STREAM.synthetic, i);
  const scene = drawScene(rng);
  const rgb = new Float32Array(S * S * 3);
  paintSkinAndLesions(scene, rng, S, rgb, masks, maskOff);
  paintHairs(rng, S, rgb);
  for (let k = 0; k < rgb.length; k++) images[imgOff + k] = Math.min(255, Math.max(0, Math.round(rgb[k])));
}

/** The ids of `synthetic:N`: `synth-0000` ... (at least four digits). */
export function syntheticIds(count: number): string[] {
  const width = Math.max(4, String(count - 1).length);
  return Array.from({ length: count }, (_, i) => `synth-${String(i).padStart(width, '0')}`);
}

/** ids `synth-0000` ..., images N*S*S*3 and masks N*S*S in SharedArrayBuffers. */
export function generateSynthetic(
  count: number,
  size: number,
  onProgress?: (done: number, total: number) => void,
): { ids: string[]; images: Uint8Array; masks: Uint8Array } {
  const plane = size * size;
  const images = new Uint8Array(new SharedArrayBuffer(count * plane * 3));
  const masks = new Uint8Array(new SharedArrayBuffer(count * plane));
  const ids = syntheticIds(count);
  for (let i = 0; i < count; i++) {
    drawSample(i, size, images, i * plane * 3, masks, i * plane);
    onProgress?.(i + 1, count);
  }
  return { ids, images, masks };
}
