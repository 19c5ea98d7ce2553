/** The model table: numbers and names are part of melseg's interface (the study's numbering). */
import type { Graph, Value } from '../onnx/graph';
import { ModelBuilder } from './builder';
import { buildEgeUNet } from './egeunet';
import { buildSegNet } from './segnet';
import { buildUNet } from './unet';

export interface ModelDef {
  id: number;
  name: string;
  build(mb: ModelBuilder, image: Value, base: number): Value;
}

export const MODELS: readonly ModelDef[] = [
  { id: 0, name: 'SegNet', build: (mb, x, b) => buildSegNet(mb, x, b) },
  { id: 1, name: 'UNet', build: (mb, x, b) => buildUNet(mb, x, 'pool', b) },
  { id: 2, name: 'UNet_stride', build: (mb, x, b) => buildUNet(mb, x, 'stride', b) },
  { id: 3, name: 'UNet_dilate', build: (mb, x, b) => buildUNet(mb, x, 'dilate', b) },
  // ~50 k parameters at width 1 (the paper's channels): depthwise convs, GroupNorm/LayerNorm, GELU
  { id: 4, name: 'EGE-UNet', build: (mb, x, b) => buildEgeUNet(mb, x, b) },
];

function table(): string {
  return MODELS.map((m) => `  ${m.id}  ${m.name}`).join('\n');
}

/** A model by number or (case-insensitive) name; anything else is an error listing the table. */
export function resolveModel(spec: string | number): ModelDef {
  const s = String(spec).trim();
  const hit = /^\d+$/.test(s) ? MODELS[Number(s)] : MODELS.find((m) => m.name.toLowerCase() === s.toLowerCase());
  if (!hit) throw new Error(`unknown model '${s}': expected a number or a name from\n${table()}`);
  return hit;
}

/** The table in one line, for flag summaries: '0 SegNet, 1 UNet, ...'. */
export function modelList(): string {
  return MODELS.map((m) => `${m.id} ${m.name}`).join(', ');
}

export function modelTable(): string {
  return `models:\n${table()}`;
}

/** Channel base for a width multiplier: round(64 w), at least 1. */
export function baseWidth(width: number): number {
  if (!(width > 0) || !Number.isFinite(width)) throw new Error(`width ${width}: expected a positive multiplier such as 1, 0.5 or 0.25`);
  const base = Math.round(64 * width);
  if (base < 1) throw new Error(`width ${width} gives ${64 * width} channels: expected at least 1/64`);
  return base;
}

export function checkImageSize(size: number): void {
  if (!Number.isInteger(size) || size < 32 || size % 32 !== 0) {
    throw new Error(`image size ${size}: expected a multiple of 32 (the networks halve it five times), e.g. 64, 128 or 256`);
  }
}

/** Build a model's forward pass; returns its logits [N,1,S,S] (pre-sigmoid). */
export function forward(g: Graph, model: ModelDef, mode: 'train' | 'eval', imageSize: number, width: number): { mb: ModelBuilder; image: Value; logits: Value } {
  checkImageSize(imageSize);
  const mb = new ModelBuilder(g, mode);
  const image = ModelBuilder.imageInput(g, imageSize);
  const logits = model.build(mb, image, baseWidth(width));
  return { mb, image, logits };
}
