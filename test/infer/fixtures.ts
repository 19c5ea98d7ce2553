/** Fixtures for the inference tests: a network with a known output, and small image/mask files. */
import * as fs from 'fs';
import * as path from 'path';
import { initialCheckpoint, parameterSpecs, resolveConfig } from '../../src/graphs';
import type { InferenceSettings } from '../../src/infer/settings';
import { PNG } from 'pngjs';

/** A PNG's bytes, synchronously (pngjs), from grey (1) or RGB (3) pixels. */
export function pngBytes(px: Uint8Array, w: number, h: number, channels: 1 | 3): Buffer {
  const png = new PNG({ width: w, height: h });
  for (let i = 0; i < w * h; i++) {
    for (let c = 0; c < 3; c++) png.data[i * 4 + c] = px[i * channels + (channels === 3 ? c : 0)];
    png.data[i * 4 + 3] = 255;
  }
  return PNG.sync.write(png);
}
import { saveCheckpointSync, type Checkpoint } from '../../src/checkpoint/checkpoint';

export const S = 32;
export const CONFIG = { model: 1, loss: 0, imageSize: S, width: 1 / 16, seed: 0 };

/**
 * A UNet (32 px, width 1/16) whose output is `p` at every pixel for every input: every weight 0
 * (BatchNorm variance 1), so the last 1x1 convolution outputs its bias, logit(p).
 */
export function constantCheckpoint(p: number, extra: { dataset?: string; inference?: InferenceSettings } = {}): Checkpoint {
  const c = resolveConfig(CONFIG);
  const ck = initialCheckpoint(c, parameterSpecs(c));
  for (const [name, t] of Object.entries(ck.params)) {
    if (!(t.data instanceof Float32Array)) continue;
    t.data.fill(name.endsWith('running_var') ? 1 : 0);
  }
  (ck.params['last.0.bias'].data as Float32Array)[0] = Math.log(p / (1 - p));
  Object.assign(ck.meta, extra);
  return ck;
}

export function saveConstant(file: string, p: number, extra: Parameters<typeof constantCheckpoint>[1] = {}): string {
  saveCheckpointSync(file, constantCheckpoint(p, extra));
  return file;
}

/** An RGB PNG of a flat colour. */
export function writeImage(file: string, w: number, h: number, rgb: [number, number, number] = [180, 120, 90]): string {
  const px = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) px.set(rgb, i * 3);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, pngBytes(px, w, h, 3));
  return file;
}

/** A 0/255 grey PNG mask: lesion where `inside(x, y)`. */
export function writeMask(file: string, w: number, h: number, inside: (x: number, y: number) => boolean): string {
  const px = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px[y * w + x] = inside(x, y) ? 255 : 0;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, pngBytes(px, w, h, 1));
  return file;
}

/** PNG width and height from the IHDR chunk. */
export function pngSize(file: string): [number, number] {
  const b = fs.readFileSync(file);
  return [b.readUInt32BE(16), b.readUInt32BE(20)];
}
