/** Fixtures for the export tests: checkpoints whose BatchNorm is far from the identity, lesion-like images. */
import * as fs from 'fs';
import * as path from 'path';
import { PNG } from 'pngjs';
import type { Image } from '../../src/data';
import { generateSynthetic } from '../../src/data/synthetic';
import { initialCheckpoint, parameterSpecs, resolveConfig } from '../../src/graphs';
import { saveCheckpointSync, type Checkpoint } from '../../src/checkpoint/checkpoint';
import { randn, seeded, uniform } from '../helpers/random';

export const S = 32;
export const W = 1 / 16;

/**
 * A seeded network whose every layer matters to its output: convolution weights drawn with He's
 * scale sqrt(2 / fan-in) (PyTorch's default initialisation shrinks the signal layer by layer, so
 * the output of a fresh network hardly depends on its deeper layers), BatchNorm statistics and
 * affine parameters away from the identity (means ~0.3, variances 0.3..2, gammas 0.6..1.4, betas
 * ~0.2), so a fold that dropped a term would show, and the last conv's weights scaled by `sharpen`,
 * so that probabilities can sit away from 0.5 (a mask then does not hinge on float rounding).
 */
export function randomCheckpoint(model: number, o: { seed?: number; sharpen?: number; width?: number; meta?: Partial<Checkpoint['meta']> } = {}): Checkpoint {
  const c = resolveConfig({ model, loss: 2, imageSize: S, width: o.width ?? W, seed: o.seed ?? 0 });
  const ck = initialCheckpoint(c, parameterSpecs(c));
  const rand = seeded(1000 + (o.seed ?? 0));
  for (const [name, t] of Object.entries(ck.params)) {
    if (!(t.data instanceof Float32Array)) continue;
    const n = t.data.length;
    if (t.shape.length === 4) t.data.set(randn(rand, n, Math.sqrt(2 / (t.shape[1] * t.shape[2] * t.shape[3]))));
    else if (name.endsWith('running_mean')) t.data.set(randn(rand, n, 0.3));
    else if (name.endsWith('running_var')) t.data.set(uniform(rand, n, 0.3, 2));
    else if (/\.(1|4|batch)\.weight$/.test(name) && t.shape.length === 1) t.data.set(uniform(rand, n, 0.6, 1.4));
    else if (/\.(1|4|batch)\.bias$/.test(name)) t.data.set(randn(rand, n, 0.2));
  }
  const sharpen = o.sharpen ?? 1;
  for (const name of ['last.0.weight', 'deconv1.3.weight']) {
    const t = ck.params[name];
    if (t && t.data instanceof Float32Array) t.data.forEach((v, i, a) => (a[i] = v * sharpen));
  }
  Object.assign(ck.meta, o.meta ?? {});
  return ck;
}

export function saveRandom(file: string, model: number, o: Parameters<typeof randomCheckpoint>[1] = {}): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  saveCheckpointSync(file, randomCheckpoint(model, o));
  return file;
}

/** A w x h lesion-like RGB image: melseg's synthetic generator at max(w, h), cropped. */
export function lesionImage(w: number, h: number, seed = 3): Image {
  const side = Math.max(w, h);
  const { images } = generateSynthetic(seed + 1, side);
  const src = images.subarray(seed * side * side * 3, (seed + 1) * side * side * 3);
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) data.set(src.subarray(y * side * 3, (y * side + w) * 3), y * w * 3);
  return { data, width: w, height: h, channels: 3 };
}

/** An RGB image as a PNG file (pngjs, no colour-space chunks: every decoder reads the same values). */
export function writePng(file: string, img: Image): string {
  const png = new PNG({ width: img.width, height: img.height });
  for (let i = 0; i < img.width * img.height; i++) {
    for (let c = 0; c < 3; c++) png.data[i * 4 + c] = img.data[i * 3 + c];
    png.data[i * 4 + 3] = 255;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, PNG.sync.write(png));
  return file;
}
