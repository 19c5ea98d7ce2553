/**
 * The exported model as a graph: the eval-mode network with its weights as initializers and the
 * ImageNet normalisation in front, through the export pipeline (src/graphs/pipeline.ts: BatchNorm
 * folded into the convolutions, then the rewrites every target gets).
 *
 *   image        float32 [N, 3, S, S], RGB in [0, 1] (8-bit value / 255), already resized to S x S
 *   probability  float32 [N, 1, S, S], sigmoid of the network's logits
 */
import { IMAGENET_MEAN, IMAGENET_STD } from '../data/tensor';
import { exportPipeline, type Pipeline, type ResolvedConfig } from '../graphs';
import { baseWidth } from '../models';
import { ModelBuilder } from '../models/builder';
import { Graph } from '../onnx/graph';
import * as N from '../onnx/names';

/** Weights by state_dict name (parameters and BatchNorm running statistics), float32. */
export type Weights = ReadonlyMap<string, Float32Array>;

/** `passes`: the export pipeline unless told otherwise (benchmarks time alternatives). */
export function exportGraph(c: ResolvedConfig, weights: Weights, passes: Pipeline = exportPipeline()): Graph {
  const S = c.imageSize;
  const g = new Graph('melseg_export');
  const image = g.input(N.IMAGE, [N.BATCH, 3, S, S]);
  // (x - mean) / std per channel, as toTensor (src/data/tensor.ts) does before every other graph
  const normalised = g.op1('Div', [g.op1('Sub', [image, g.f32([...IMAGENET_MEAN], [1, 3, 1, 1])]), g.f32([...IMAGENET_STD], [1, 3, 1, 1])], {}, 'normalised');
  const mb = new ModelBuilder(g, 'eval');
  const logits = c.model.build(mb, normalised, baseWidth(c.width));
  g.output(g.op1('Sigmoid', [logits]), N.PROBABILITY);
  // the parameters the builder declared as inputs become initializers holding the weights
  for (const p of mb.params.filter((q) => q.graphInput)) {
    const data = weights.get(p.name);
    if (!data || data.length !== p.shape.reduce((a, d) => a * d, 1)) throw new Error(`export: no weights of shape [${p.shape}] for '${p.name}'`);
    g.inputs.splice(g.inputs.findIndex((v) => v.name === p.name), 1);
    g.initializers.set(p.name, { dtype: 'float32', shape: [...p.shape], data });
  }
  for (const pass of [...passes.rewrites, ...passes.devicePasses]) pass.run(g);
  // the page runs this file on WebGPU too: exportPipeline() holds the WebGPU passes
  return g;
}
