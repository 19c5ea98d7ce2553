/**
 * Assembles everything a model x loss needs: the training graph (loss, gradients, BN running-stat
 * updates), the AdamW graph, a fused train-step graph (both in one run), the eval graph (eval-mode
 * forward, loss, per-image intersection and union at 0.5), the inference graph, the initial weights
 * and a manifest.
 */
import * as fs from 'fs';
import * as path from 'path';
import { gradients } from './autodiff';
import { LossDef, resolveLoss } from './losses';
import { ModelDef, baseWidth, checkImageSize, forward, resolveModel } from './models';
import type { ParamSpec } from './models/builder';
import { initParam, seededUniform } from './models/init';
import { Graph, Lowering, Value } from './onnx/graph';
import * as N from './onnx/names';
import { OPSET, serialize } from './onnx/proto';
import { adamwScalars, adamwUpdate } from './optim/adamw';
import { nchwcConvs } from './ops/Nchwc';
import type { Checkpoint } from './train/checkpoint';
import { encodeCheckpoint } from './train/checkpoint';
import { writeFileAtomic } from './util/atomic';

export type GraphKind = 'training' | 'optimizer' | 'trainStep' | 'eval' | 'inference';
export const GRAPH_FILES: Record<GraphKind, string> = {
  training: 'training_model.onnx',
  optimizer: 'optimizer_model.onnx',
  trainStep: 'train_step_model.onnx',
  eval: 'eval_model.onnx',
  inference: 'inference_model.onnx',
};

export interface GraphConfig {
  model: number | string;
  loss: number | string;
  imageSize?: number;
  width?: number;
  seed?: number;
  /** formulation choices (src/onnx/graph.ts Lowering); absent = melseg's defaults */
  lowering?: Lowering;
}

export interface ResolvedConfig {
  model: ModelDef;
  loss: LossDef;
  imageSize: number;
  width: number;
  seed: number;
  lowering?: Lowering;
}

export function resolveConfig(c: GraphConfig): ResolvedConfig {
  const imageSize = c.imageSize ?? 256;
  const width = c.width ?? 1;
  checkImageSize(imageSize);
  baseWidth(width);
  return { model: resolveModel(c.model), loss: resolveLoss(c.loss), imageSize, width, seed: c.seed ?? 0, ...(c.lowering ? { lowering: c.lowering } : {}) };
}

interface Head {
  g: Graph;
  params: ParamSpec[];
  paramValues: Map<string, Value>;
  image: Value;
  mask: Value;
  logits: Value;
  prob: Value;
  loss: Value;
  bnUpdates: { name: string; value: Value }[];
}

function head(c: ResolvedConfig, mode: 'train' | 'eval', name: string): Head {
  const g = new Graph(name);
  g.lowering = { ...c.lowering };
  const { mb, image, logits } = forward(g, c.model, mode, c.imageSize, c.width);
  const mask = g.input(N.MASK, [N.BATCH, 1, c.imageSize, c.imageSize]);
  const prob = g.op1('Sigmoid', [logits], {}, 'prob');
  const loss = c.loss.build({ g, logits, prob, mask });
  return { g, params: mb.params, paramValues: mb.paramValues, image, mask, logits, prob, loss, bnUpdates: mb.bnUpdates };
}

const trainable = (h: Head) => h.params.filter((p) => p.trainable && p.graphInput);

function finish(g: Graph): Graph {
  g.lower();
  if (g.lowering.nchwc) nchwcConvs(g, g.lowering.nchwc);
  g.prune();
  return g;
}

export function trainingGraph(c: ResolvedConfig): Graph {
  const h = head(c, 'train', 'training');
  const params = trainable(h);
  const grads = gradients(h.g, h.loss, params.map((p) => h.paramValues.get(p.name)!));
  h.g.output(h.loss, N.LOSS);
  for (const p of params) h.g.output(grads.get(p.name)!, N.gradName(p.name));
  for (const u of h.bnUpdates) h.g.output(u.value, N.nextName(u.name));
  return finish(h.g);
}

/** Training and AdamW fused: one run per step; parameters and moments go in and come out updated. */
export function trainStepGraph(c: ResolvedConfig): Graph {
  const h = head(c, 'train', 'train_step');
  const g = h.g;
  const params = trainable(h);
  const grads = gradients(g, h.loss, params.map((p) => h.paramValues.get(p.name)!));
  const lr = g.input(N.LR, []);
  const step = g.input(N.STEP, []);
  // the first parameter's gradient is the backward pass's last (it needs the input layer's dy)
  const last = c.lowering?.updates === 'interleaved' ? undefined : grads.get(params[0].name);
  const s = adamwScalars(g, lr, step, last);
  g.output(h.loss, N.LOSS);
  for (const p of params) {
    const m = g.input(N.firstMoment(p.name), p.shape);
    const v = g.input(N.secondMoment(p.name), p.shape);
    const u = adamwUpdate(g, s, h.paramValues.get(p.name)!, grads.get(p.name)!, m, v);
    g.output(u.p, N.nextName(p.name));
    g.output(u.m, N.nextName(m.name));
    g.output(u.v, N.nextName(v.name));
  }
  for (const u of h.bnUpdates) g.output(u.value, N.nextName(u.name));
  return finish(g);
}

export function optimizerGraph(params: ParamSpec[]): Graph {
  const g = new Graph('optimizer');
  const lr = g.input(N.LR, []);
  const step = g.input(N.STEP, []);
  const s = adamwScalars(g, lr, step);
  for (const p of params.filter((q) => q.trainable)) {
    const u = adamwUpdate(g, s, g.input(p.name, p.shape), g.input(N.gradName(p.name), p.shape), g.input(N.firstMoment(p.name), p.shape), g.input(N.secondMoment(p.name), p.shape));
    g.output(u.p, N.nextName(p.name));
    g.output(u.m, N.nextName(N.firstMoment(p.name)));
    g.output(u.v, N.nextName(N.secondMoment(p.name)));
  }
  return finish(g);
}

/** Eval mode: loss, probabilities, and per-image |pred & mask| and |pred | mask| with pred = p > 0.5. */
export function evalGraph(c: ResolvedConfig): Graph {
  const h = head(c, 'eval', 'eval');
  const g = h.g;
  const pred = g.op1('Cast', [g.op1('Greater', [h.prob, g.f32(0.5)])], { to: 1 });
  const axes = g.i64([1, 2, 3]);
  const inter = g.op1('Mul', [pred, h.mask]);
  const union = g.op1('Sub', [g.op1('Add', [pred, h.mask]), inter]);
  g.output(h.loss, N.LOSS);
  g.output(g.op1('ReduceSum', [inter, axes], { keepdims: 0 }), N.INTERSECTION);
  g.output(g.op1('ReduceSum', [union, axes], { keepdims: 0 }), N.UNION);
  g.output(h.prob, N.PROBABILITY);
  return finish(g);
}

export function inferenceGraph(c: ResolvedConfig): Graph {
  const g = new Graph('inference');
  g.lowering = { ...c.lowering };
  const { logits } = forward(g, c.model, 'eval', c.imageSize, c.width);
  g.output(g.op1('Sigmoid', [logits]), N.PROBABILITY);
  return finish(g);
}

/** Parameter specs (state_dict order) without building gradients. */
export function parameterSpecs(c: ResolvedConfig): ParamSpec[] {
  const g = new Graph('specs');
  return forward(g, c.model, 'train', c.imageSize, c.width).mb.params;
}

export function initialCheckpoint(c: ResolvedConfig, params: ParamSpec[]): Checkpoint {
  const rand = seededUniform(c.seed * 2654435761 + 12345);
  const out: Checkpoint['params'] = {};
  for (const p of params) {
    const data = initParam(p, rand);
    out[p.name] = p.dtype === 'int64' ? { dtype: 'int64', shape: p.shape, data: data as BigInt64Array } : { dtype: 'float32', shape: p.shape, data: data as Float32Array };
  }
  return { meta: meta(c), params: out };
}

export function meta(c: ResolvedConfig) {
  return { model: c.model.id, modelName: c.model.name, loss: c.loss.id, lossName: c.loss.name, imageSize: c.imageSize, width: c.width };
}

export interface GraphInfo {
  file: string;
  inputs: string[];
  outputs: string[];
  /** the op types the file contains ('domain:Op' outside ai.onnx), sorted: what a provider must run */
  ops: string[];
}

export interface Manifest {
  compiler?: string;
  model: { id: number; name: string };
  loss: { id: number; name: string };
  imageSize: number;
  width: number;
  opset: number;
  seed: number;
  parameters: { name: string; shape: number[]; trainable: boolean; dtype: string }[];
  parameterCount: number;
  graphs: Record<GraphKind, GraphInfo>;
  /** non-default formulation choices the graphs were built with (absent: the standard-op defaults) */
  lowering?: Lowering;
}

export function graphDirName(c: ResolvedConfig): string {
  const suffix = c.imageSize === 256 && c.width === 1 ? '' : `_s${c.imageSize}_w${c.width}`;
  // graphs with other formulations hold the same function, but are other files
  const lowering = c.lowering?.nchwc ? `_nchwc${c.lowering.nchwc}` : '';
  return `${c.model.name}_${c.loss.name}${suffix}${lowering}`;
}

export interface BuildReport {
  dir: string;
  manifest: Manifest;
  files: { file: string; bytes: number; nodes?: number }[];
  seconds: number;
}

/** Build every graph and the initial checkpoint into `dir` (atomic writes). */
export async function buildGraphs(
  config: GraphConfig,
  dir?: string,
  opts: { valueInfo?: boolean; log?: (s: string) => void; /** fingerprint of the compiler, recorded for caches */ compiler?: string } = {},
): Promise<BuildReport> {
  const t0 = Date.now();
  const c = resolveConfig(config);
  const out = dir ?? path.join('graphs', graphDirName(c));
  fs.mkdirSync(out, { recursive: true });
  const params = parameterSpecs(c);
  const builders: Record<GraphKind, () => Graph> = {
    training: () => trainingGraph(c),
    optimizer: () => optimizerGraph(params),
    trainStep: () => trainStepGraph(c),
    eval: () => evalGraph(c),
    inference: () => inferenceGraph(c),
  };
  const files: BuildReport['files'] = [];
  const graphs = {} as Record<GraphKind, GraphInfo>;
  for (const kind of Object.keys(builders) as GraphKind[]) {
    opts.log?.(`building ${GRAPH_FILES[kind]}`);
    const g = builders[kind]();
    const bytes = serialize(g, { valueInfo: opts.valueInfo });
    await writeFileAtomic(path.join(out, GRAPH_FILES[kind]), bytes);
    files.push({ file: GRAPH_FILES[kind], bytes: bytes.length, nodes: g.nodes.length });
    graphs[kind] = { file: GRAPH_FILES[kind], inputs: g.inputs.map((v) => v.name), outputs: g.outputs.map((v) => v.name), ops: g.opTypes() };
  }
  const ck = encodeCheckpoint(initialCheckpoint(c, params));
  await writeFileAtomic(path.join(out, 'checkpoint.ckpt'), ck);
  files.push({ file: 'checkpoint.ckpt', bytes: ck.reduce((n, part) => n + part.length, 0) });
  const manifest: Manifest = {
    ...(opts.compiler ? { compiler: opts.compiler } : {}),
    model: { id: c.model.id, name: c.model.name },
    loss: { id: c.loss.id, name: c.loss.name },
    imageSize: c.imageSize,
    width: c.width,
    opset: OPSET,
    seed: c.seed,
    parameters: params.map((p) => ({ name: p.name, shape: p.shape, trainable: p.trainable, dtype: p.dtype })),
    parameterCount: countParameters(params),
    graphs,
    ...(c.lowering && Object.keys(c.lowering).length ? { lowering: c.lowering } : {}),
  };
  const mj = JSON.stringify(manifest, null, 2) + '\n';
  await writeFileAtomic(path.join(out, 'manifest.json'), mj);
  files.push({ file: 'manifest.json', bytes: Buffer.byteLength(mj) });
  return { dir: out, manifest, files, seconds: (Date.now() - t0) / 1000 };
}

/** Trainable parameter count (PyTorch's sum(p.numel() for p in model.parameters())). */
export function countParameters(params: ParamSpec[]): number {
  return params.filter((p) => p.trainable).reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
}
