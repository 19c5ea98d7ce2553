/**
 * Compile a configuration for a target: the graphs asked for, serialised, and the manifest that
 * describes them. Nothing is written here: the cache (cache.ts) and `melseg build-graph` do that.
 */
import type { Graph } from '../onnx/graph';
import { OPSET, serialize } from '../onnx/proto';
import { evalGraph, type GraphKind, GRAPH_KINDS, inferenceGraph, optimizerGraph, trainingGraph, trainStepGraph } from './build';
import type { ResolvedConfig } from './config';
import { pipeline, type Target } from './pipeline';
import { countParameters, parameterSpecs } from './weights';

export const GRAPH_FILES: Record<GraphKind, string> = {
  training: 'training_model.onnx',
  optimizer: 'optimizer_model.onnx',
  trainStep: 'train_step_model.onnx',
  eval: 'eval_model.onnx',
  inference: 'inference_model.onnx',
};

export interface GraphInfo {
  file: string;
  inputs: string[];
  outputs: string[];
  /** the op types the file contains ('domain:Op' outside ai.onnx), sorted: what a provider must run */
  ops: string[];
  nodes: number;
}

export interface Manifest<K extends GraphKind = GraphKind> {
  /** fingerprint of the compiler's sources (the graph cache's key), when built through the cache */
  compiler?: string;
  model: { id: number; name: string };
  loss: { id: number; name: string };
  imageSize: number;
  width: number;
  opset: number;
  seed: number;
  parameters: { name: string; shape: number[]; trainable: boolean; dtype: string }[];
  parameterCount: number;
  /** the target and the passes its graphs went through, in order */
  pipeline: { target: string; rewrites: string[]; devicePasses: string[] };
  graphs: Record<K, GraphInfo>;
}

export interface Compiled<K extends GraphKind> {
  manifest: Manifest<K>;
  /** the serialised graphs (valueInfo: every intermediate shape declared, for the ONNX checker) */
  bytes: Record<K, Uint8Array>;
}

export function compileGraphs<K extends GraphKind = GraphKind>(
  c: ResolvedConfig,
  target: Target,
  o: { kinds?: readonly K[]; valueInfo?: boolean; log?: (s: string) => void } = {},
): Compiled<K> {
  const kinds = (o.kinds ?? GRAPH_KINDS) as readonly K[];
  const params = parameterSpecs(c);
  const p = pipeline(c, target);
  const build: Record<GraphKind, () => Graph> = {
    training: () => trainingGraph(c, target),
    optimizer: () => optimizerGraph(params),
    trainStep: () => trainStepGraph(c, target),
    eval: () => evalGraph(c, target),
    inference: () => inferenceGraph(c, target),
  };
  const graphs = {} as Record<K, GraphInfo>;
  const bytes = {} as Record<K, Uint8Array>;
  for (const kind of kinds) {
    o.log?.(`building ${GRAPH_FILES[kind]}`);
    const g = build[kind]();
    bytes[kind] = serialize(g, { valueInfo: o.valueInfo });
    graphs[kind] = { file: GRAPH_FILES[kind], inputs: g.inputs.map((v) => v.name), outputs: g.outputs.map((v) => v.name), ops: g.opTypes(), nodes: g.nodes.length };
  }
  const manifest: Manifest<K> = {
    model: { id: c.model.id, name: c.model.name },
    loss: { id: c.loss.id, name: c.loss.name },
    imageSize: c.imageSize,
    width: c.width,
    opset: OPSET,
    seed: c.seed,
    parameters: params.map((q) => ({ name: q.name, shape: q.shape, trainable: q.trainable, dtype: q.dtype })),
    parameterCount: countParameters(params),
    pipeline: { target: p.tag, rewrites: p.rewrites.map((q) => q.name), devicePasses: p.devicePasses.map((q) => q.name) },
    graphs,
  };
  return { manifest, bytes };
}
