/**
 * The five graphs of a model x loss, each through the target's pipeline (pipeline.ts): the training
 * graph (loss, gradients, BN running-stat updates), the AdamW graph, the fused train step (both in
 * one run), the eval graph (eval-mode forward, loss, per-image intersection and union at 0.5) and
 * the inference graph.
 */
import { gradients } from '../autodiff';
import { forward } from '../models';
import type { ParamSpec } from '../models/builder';
import { Graph, type Value } from '../onnx/graph';
import * as N from '../onnx/names';
import { adamwScalars, adamwUpdate } from '../optim/adamw';
import type { Pass } from '../passes/pass';
import type { ResolvedConfig } from './config';
import { pipeline, type Pipeline, type Target } from './pipeline';

export type GraphKind = 'training' | 'optimizer' | 'trainStep' | 'eval' | 'inference';
export const GRAPH_KINDS: readonly GraphKind[] = ['training', 'optimizer', 'trainStep', 'eval', 'inference'];

const CPU: Target = { device: 'cpu' };

/** The pipeline a builder runs: the target's declared one, or one given as is (benchmarks compare pass lists). */
function pipelineOf(c: ResolvedConfig, t: Target | Pipeline): Pipeline {
  return 'devicePasses' in t ? t : pipeline(c, t);
}

function run(g: Graph, passes: Pass[]): Graph {
  for (const p of passes) p.run(g);
  return g;
}

interface Head {
  g: Graph;
  params: ParamSpec[];
  paramValues: Map<string, Value>;
  mask: Value;
  prob: Value;
  loss: Value;
  bnUpdates: { name: string; value: Value }[];
}

/** Forward pass, probabilities and loss, rewritten into the pipeline's formulations. */
function head(c: ResolvedConfig, p: Pipeline, mode: 'train' | 'eval', name: string): Head {
  const g = new Graph(name);
  const { mb, logits } = forward(g, c.model, mode, c.imageSize, c.width);
  const mask = g.input(N.MASK, [N.BATCH, 1, c.imageSize, c.imageSize]);
  const prob = g.op1('Sigmoid', [logits], {}, 'prob');
  const loss = c.loss.build({ g, logits, prob, mask });
  run(g, p.rewrites);
  return { g, params: mb.params, paramValues: mb.paramValues, mask, prob, loss, bnUpdates: mb.bnUpdates };
}

/** The trainable parameters that are graph inputs, with their values, in state_dict order. */
function trainable(h: Head): { spec: ParamSpec; value: Value }[] {
  return h.params.filter((p) => p.trainable && p.graphInput).map((spec) => {
    const value = h.paramValues.get(spec.name);
    if (!value) throw new Error(`graphs: parameter '${spec.name}' has no graph input`);
    return { spec, value };
  });
}

/** Gradients of the loss with respect to `params`, in their order. */
function gradientsOf(h: Head, params: { value: Value }[]): Value[] {
  const grads = gradients(h.g, h.loss, params.map((p) => p.value));
  return params.map((p) => {
    const d = grads.get(p.value.name);
    if (!d) throw new Error(`graphs: autodiff returned no gradient for '${p.value.name}'`);
    return d;
  });
}

export function trainingGraph(c: ResolvedConfig, target: Target | Pipeline = CPU): Graph {
  const p = pipelineOf(c, target);
  const h = head(c, p, 'train', 'training');
  const params = trainable(h);
  const grads = gradientsOf(h, params);
  h.g.output(h.loss, N.LOSS);
  params.forEach((q, i) => h.g.output(grads[i], N.gradName(q.spec.name)));
  for (const u of h.bnUpdates) h.g.output(u.value, N.nextName(u.name));
  return run(h.g, p.devicePasses);
}

/**
 * Training and AdamW fused: one run per step; parameters and moments go in and come out updated.
 * Every update waits for every gradient, the first parameter's included (the backward pass's last:
 * it needs the input layer's dy), so the new weights and moments are not held through the
 * activation peak, and the gradients are reached in the order the backward pass computes them
 * (src/optim/adamw.ts).
 */
export function trainStepGraph(c: ResolvedConfig, target: Target | Pipeline = CPU): Graph {
  const p = pipelineOf(c, target);
  const h = head(c, p, 'train', 'train_step');
  const g = h.g;
  const params = trainable(h);
  const grads = gradientsOf(h, params);
  const s = adamwScalars(g, g.input(N.LR, []), g.input(N.STEP, []), inComputedOrder(g, grads));
  g.output(h.loss, N.LOSS);
  params.forEach((q, i) => {
    const m = g.input(N.firstMoment(q.spec.name), q.spec.shape);
    const v = g.input(N.secondMoment(q.spec.name), q.spec.shape);
    const u = adamwUpdate(g, s, q.value, grads[i], m, v);
    g.output(u.p, N.nextName(q.spec.name));
    g.output(u.m, N.nextName(m.name));
    g.output(u.v, N.nextName(v.name));
  });
  for (const u of h.bnUpdates) g.output(u.value, N.nextName(u.name));
  return run(g, p.devicePasses);
}

/** `values` in the order the graph's nodes compute them (graph inputs first). */
function inComputedOrder(g: Graph, values: Value[]): Value[] {
  const at = new Map<string, number>();
  g.nodes.forEach((n, i) => n.outputs.forEach((o) => at.set(o, i)));
  return [...values].sort((a, b) => (at.get(a.name) ?? -1) - (at.get(b.name) ?? -1));
}

/** AdamW for `params` (their trainable ones); only elementwise ops, which no device pass changes. */
export function optimizerGraph(params: ParamSpec[]): Graph {
  const g = new Graph('optimizer');
  const s = adamwScalars(g, g.input(N.LR, []), g.input(N.STEP, []));
  for (const p of params.filter((q) => q.trainable)) {
    const u = adamwUpdate(g, s, g.input(p.name, p.shape), g.input(N.gradName(p.name), p.shape), g.input(N.firstMoment(p.name), p.shape), g.input(N.secondMoment(p.name), p.shape));
    g.output(u.p, N.nextName(p.name));
    g.output(u.m, N.nextName(N.firstMoment(p.name)));
    g.output(u.v, N.nextName(N.secondMoment(p.name)));
  }
  g.prune();
  return g;
}

/** Eval mode: loss, probabilities, and per-image |pred & mask| and |pred | mask| with pred = p > 0.5. */
export function evalGraph(c: ResolvedConfig, target: Target | Pipeline = CPU): Graph {
  const p = pipelineOf(c, target);
  const h = head(c, p, 'eval', 'eval');
  const g = h.g;
  const pred = g.op1('Cast', [g.op1('Greater', [h.prob, g.f32(0.5)])], { to: 1 });
  const axes = g.i64([1, 2, 3]);
  const inter = g.op1('Mul', [pred, h.mask]);
  const union = g.op1('Sub', [g.op1('Add', [pred, h.mask]), inter]);
  g.output(h.loss, N.LOSS);
  g.output(g.op1('ReduceSum', [inter, axes], { keepdims: 0 }), N.INTERSECTION);
  g.output(g.op1('ReduceSum', [union, axes], { keepdims: 0 }), N.UNION);
  g.output(h.prob, N.PROBABILITY);
  return run(g, p.devicePasses);
}

export function inferenceGraph(c: ResolvedConfig, target: Target | Pipeline = CPU): Graph {
  const p = pipelineOf(c, target);
  const g = new Graph('inference');
  const { logits } = forward(g, c.model, 'eval', c.imageSize, c.width);
  g.output(g.op1('Sigmoid', [logits]), N.PROBABILITY);
  run(g, p.rewrites);
  return run(g, p.devicePasses);
}
