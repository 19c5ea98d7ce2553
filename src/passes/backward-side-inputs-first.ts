/**
 * A schedule, not a rewrite: the graph's nodes are reordered (each node and value unchanged) so that
 * onnxruntime runs the backward pass's side inputs just before the node that reads them.
 *
 * onnxruntime's sequential executor runs nodes in its own order (src/graphs/liveness.ts, ortOrder):
 * a depth-first walk back from the leaves that, at each node, walks the producer with the highest
 * node index (the position in this file) first and runs a node when its walk returns. In the order
 * autodiff writes the backward pass, a gradient rule's side inputs (a weight reshaped or transposed
 * for dx, a ReLU's mask y > 0, a padded conv input for dW: values computed from forward values and
 * parameters only) come after the gradient dy they meet, so the walk took them first: the weights'
 * copies ran before the forward pass and the masks right after their ReLU, each held until the
 * backward pass reached it. Moved to just after their last input here (topological order kept), they
 * have the lower index, dy's chain is walked first, and they run when their reader needs them.
 *
 * Which nodes: those after the loss that do not depend on it. Every gradient does (autodiff's seed
 * reads the loss node, src/autodiff.ts), so these are computed from forward values, parameters and
 * constants alone. A graph without the loss output is left as it is.
 */
import type { Graph } from '../onnx/graph';
import { LOSS } from '../onnx/names';
import type { Pass } from './pass';

export const backwardSideInputsFirstPass: Pass = {
  name: 'backward-side-inputs-first',
  run(g: Graph): number {
    const loss = g.nodes.findIndex((n) => n.outputs.includes(LOSS));
    if (loss < 0) return 0;
    const producer = new Map<string, number>();
    g.nodes.forEach((n, i) => n.outputs.forEach((o) => o && producer.set(o, i)));
    // key: where a node goes; a moved node sorts just after its latest input's producer
    const key: number[] = [];
    const onLoss = new Set<number>([loss]);
    let moved = 0;
    g.nodes.forEach((n, i) => {
      const from = n.inputs.filter((x) => x && producer.has(x)).map((x) => producer.get(x) as number);
      if (from.some((j) => onLoss.has(j))) onLoss.add(i);
      const side = i > loss && !onLoss.has(i);
      if (!side) {
        key[i] = i;
        return;
      }
      key[i] = Math.max(-1, ...from.map((j) => Math.floor(key[j]))) + 0.5;
      moved++;
    });
    const order = g.nodes.map((n, i) => ({ n, i })).sort((a, b) => key[a.i] - key[b.i] || a.i - b.i);
    g.nodes = order.map((x) => x.n);
    return moved;
  },
};
