/**
 * Rewrite (device pass): a MaxPool whose Indices output nothing reads, as a MaxPool without that
 * output. melseg's MaxPool always exposes Indices for its gradient (src/ops/MaxPool.ts); once
 * maxpool-grad-by-comparison has replaced the MaxUnpool that read them, and in graphs without
 * gradients, they are dead, but onnxruntime still computes them, and the WebGPU provider refuses a
 * MaxPool that has them at run time ("The Indices output is not supported yet", pool.cc; found by
 * running, src/onnx/providers.ts). Y is the same either way.
 */
import type { Graph, Node } from '../onnx/graph';
import type { Pass } from './pass';
import { operands, rewritePass, type RewriteRule } from './pass';

/** Every value some node reads or the graph returns. */
function readValues(g: Graph): Set<string> {
  const read = new Set(g.outputs.map((o) => o.name));
  for (const n of g.nodes) for (const x of n.inputs) if (x) read.add(x);
  return read;
}

/** The rule, given what the graph reads when the sweep starts (a sweep rebuilds g.nodes as it goes). */
function maxPoolWithoutIndices(read: ReadonlySet<string>): RewriteRule<Node> {
  return {
    name: 'maxpool-without-indices',
    pattern: (_g, n) => (n.op === 'MaxPool' && n.domain === '' && n.outputs.length === 2 ? n : undefined),
    check: (_g, n) => !!n.outputs[1] && !read.has(n.outputs[1]),
    replacement: (g, n) => {
      const [x] = operands(g, n);
      if (!x) throw new Error(`maxpool-without-indices: ${n.name} has no input`);
      const [y, idx] = g.op('MaxPool', [x], n.attrs);
      // an absent trailing optional output is not computed
      g.dropOutput(idx.name);
      return [y];
    },
  };
}

export const maxPoolWithoutIndicesPass: Pass = {
  name: 'maxpool-without-indices',
  run: (g) => rewritePass(maxPoolWithoutIndices(readValues(g))).run(g),
};
