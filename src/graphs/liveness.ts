/**
 * Where a train step's memory goes, from the graph alone: walk the nodes in the graph's order (or
 * the order onnxruntime ran them, from its profile: not the same, see inOrder), allocate each output when
 * its node runs and free it after its last reader, and report the high-water mark of the
 * intermediate values, split into what the forward pass produced and still holds for the backward
 * pass (activations) and what the backward pass and the update produced (gradients, temporaries).
 * An estimate of the arena's need, not a measurement: onnxruntime fuses some nodes, computes some
 * in place, and rounds and fragments its arena.
 */
import { numel, type Graph } from '../onnx/graph';
import type { DType } from '../onnx/dtype';
import * as N from '../onnx/names';

export interface Liveness {
  /** the graph inputs: parameters, moments, BN statistics (the state), image, mask */
  inputBytes: number;
  /** the graph outputs (new state and loss): held from their node to the end unless written in place */
  outputBytes: number;
  /** the outputs were written into the buffers fed (src/train/step.ts), so they took no memory of their own */
  outputsInPlace: boolean;
  /** constants (initializers) */
  constantBytes: number;
  /** the high-water mark of intermediate values (outputs included), and its split */
  peakBytes: number;
  peakForwardBytes: number;
  peakBackwardBytes: number;
  peakOutputBytes: number;
  /** the node after which the peak is reached, its index, and the index of the loss node */
  peakNode: string;
  peakIndex: number;
  lossIndex: number;
  nodes: number;
}

const BYTES: Record<DType, number> = { float32: 4, int64: 8, bool: 1 };

function bytesOf(g: Graph, name: string, batch: number): number {
  const v = g.values.get(name);
  if (!v) return 0;
  const shape = v.shape.map((d) => (typeof d === 'number' ? d : batch));
  return numel(shape) * BYTES[v.dtype];
}

/**
 * The graph's nodes in the order an executor ran them (`ran`: node names, e.g. from onnxruntime's
 * profile); a node it does not name (one it fused away) runs as soon as its inputs are ready.
 */
export function inOrder(g: Graph, ran: string[]): Graph['nodes'] {
  const at = new Map(ran.map((name, k) => [name, k]));
  const producer = new Map<string, number>();
  const key: number[] = [];
  g.nodes.forEach((n, i) => {
    n.outputs.forEach((o) => producer.set(o, i));
    key[i] = at.get(n.name) ?? Math.max(-1, ...n.inputs.filter((x) => producer.has(x)).map((x) => key[producer.get(x)!])) + 0.5;
  });
  return g.nodes.map((n, i) => ({ n, i })).sort((a, b) => key[a.i] - key[b.i] || a.i - b.i).map((x) => x.n);
}

/**
 * The order onnxruntime's sequential executor runs a graph's nodes in (its default order,
 * GraphViewer's: Graph::ReverseDFSFrom the leaf nodes, those no node reads, with NodeCompare = node
 * index ascending). A stack starts with the leaves in index order and pops the last first; a node is
 * visited when first popped, then pushes its producers in index order, so the producer with the
 * highest index is walked first; a node runs when the walk leaves it (post-order). Node indices are
 * the graph's node order as serialised. Not modelled: the nodes onnxruntime's own graph
 * optimisations add (fusions, NCHWc reorders take new, higher indices) or remove.
 */
export function ortOrder(g: Graph): Graph['nodes'] {
  const producer = new Map<string, number>();
  g.nodes.forEach((n, i) => n.outputs.forEach((o) => o && producer.set(o, i)));
  const inputsOf = g.nodes.map((n) => [...new Set(n.inputs.filter((x) => x && producer.has(x)).map((x) => producer.get(x) as number))].sort((a, b) => a - b));
  const read = new Set(inputsOf.flat());
  const stack: [number, boolean][] = g.nodes.map((_, i) => [i, false] as [number, boolean]).filter(([i]) => !read.has(i));
  const visited = new Set<number>();
  const order: Graph['nodes'] = [];
  while (stack.length) {
    const [i, leave] = stack.pop() as [number, boolean];
    if (leave) {
      order.push(g.nodes[i]);
      continue;
    }
    if (visited.has(i)) continue;
    visited.add(i);
    stack.push([i, true]);
    for (const j of inputsOf[i]) stack.push([j, false]);
  }
  return order;
}

/** `nodes`: the order to walk (default: the graph's own). */
export function liveness(g: Graph, batch: number, opts: { outputsInPlace?: boolean; nodes?: Graph['nodes'] } = {}): Liveness {
  const nodes = opts.nodes ?? g.nodes;
  const lastRead = new Map<string, number>();
  nodes.forEach((n, i) => n.inputs.forEach((x) => x && lastRead.set(x, i)));
  const outputs = new Set(g.outputs.map((v) => v.name));
  const inputs = new Set(g.inputs.map((v) => v.name));
  const lossIndex = nodes.findIndex((n) => n.outputs.includes(N.LOSS));
  const live = new Map<string, { bytes: number; forward: boolean }>();
  let cur = 0;
  const r = { peakBytes: 0, peakForwardBytes: 0, peakBackwardBytes: 0, peakOutputBytes: 0, peakNode: '', peakIndex: -1 };
  nodes.forEach((n, i) => {
    for (const o of n.outputs) {
      if (!o || inputs.has(o)) continue;
      const b = o !== N.LOSS && outputs.has(o) && opts.outputsInPlace ? 0 : bytesOf(g, o, batch);
      live.set(o, { bytes: b, forward: lossIndex < 0 || i <= lossIndex });
      cur += b;
    }
    if (cur > r.peakBytes) {
      let fwd = 0, bwd = 0, out = 0;
      for (const [name, v] of live) {
        if (outputs.has(name)) out += v.bytes;
        else if (v.forward) fwd += v.bytes;
        else bwd += v.bytes;
      }
      Object.assign(r, { peakBytes: cur, peakForwardBytes: fwd, peakBackwardBytes: bwd, peakOutputBytes: out, peakNode: `${n.op} ${n.name}`, peakIndex: i });
    }
    // free what this node read last (and outputs nobody reads), except the graph's outputs
    for (const x of [...n.inputs, ...n.outputs]) {
      if (!x || outputs.has(x) || !live.has(x)) continue;
      if ((lastRead.get(x) ?? -1) <= i) {
        cur -= live.get(x)!.bytes;
        live.delete(x);
      }
    }
  });
  let constantBytes = 0;
  for (const t of g.initializers.values()) constantBytes += t.data.byteLength;
  return {
    inputBytes: g.inputs.reduce((a, v) => a + bytesOf(g, v.name, batch), 0),
    outputBytes: g.outputs.reduce((a, v) => a + bytesOf(g, v.name, batch), 0),
    outputsInPlace: !!opts.outputsInPlace,
    constantBytes,
    ...r,
    lossIndex,
    nodes: nodes.length,
  };
}
