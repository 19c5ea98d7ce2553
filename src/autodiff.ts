/**
 * Reverse-mode autodiff over the graph IR: walk the recorded nodes backwards from `loss`, call each
 * op's gradient rule (src/ops) and sum the contributions that reach each value. Rules emit forward
 * ops only, so the gradient is just more graph.
 */
import type { Graph, Node, Value } from './onnx/graph';
import { getOp, ruleFile } from './ops/registry';
import type { Grad } from './ops/types';

export function gradients(g: Graph, loss: Value, wrt: Value[]): Map<string, Value> {
  const nodes = [...g.nodes];
  // Values that depend on some `wrt` through float tensors: only these need gradients.
  const active = new Set(wrt.map((v) => v.name));
  for (const n of nodes) {
    if (n.inputs.some((i) => active.has(i))) {
      for (const o of n.outputs) if (g.value(o).dtype === 'float32') active.add(o);
    }
  }
  if (!active.has(loss.name)) throw new Error(`autodiff: '${loss.name}' does not depend on any of the requested inputs`);
  const pending = new Map<string, Value[]>();
  // the seed dloss = loss * 0 + 1 (1 for a finite loss) reads the loss node, so every gradient depends
  // on it: what the backward pass computes from forward values alone is told apart by that
  // (src/passes/backward-side-inputs-first.ts)
  pending.set(loss.name, [g.op1('Add', [g.op1('Mul', [loss, g.f32(0)]), g.f32(1)])]);
  const total = (name: string): Value | null => {
    const parts = pending.get(name);
    if (!parts || parts.length === 0) return null;
    const sum = parts.reduce((a, b) => g.op1('Add', [a, b], {}, 'gsum'));
    pending.set(name, [sum]);
    return sum;
  };
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (!n.outputs.some((o) => pending.has(o)) || !n.inputs.some((x) => active.has(x))) continue;
    const dIn = nodeGrad(g, n, n.outputs.map(total));
    n.inputs.forEach((x, k) => {
      const d = dIn[k];
      if (!x || !d || !active.has(x)) return;
      const list = pending.get(x) ?? [];
      list.push(d);
      pending.set(x, list);
    });
  }
  const out = new Map<string, Value>();
  for (const w of wrt) {
    out.set(w.name, total(w.name) ?? g.op1('Mul', [w, g.f32(0)], {}, 'zero_grad'));
  }
  return out;
}

/** One node's input gradients from its output gradients, by its op's rule; a failure names the op and node. */
function nodeGrad(g: Graph, n: Node, dOut: Grad[]): Grad[] {
  const def = getOp(n.op);
  const where = `${n.op} (node ${n.name})`;
  const ctx = { g, inputs: n.inputs.map((x) => (x ? g.value(x) : null)), outputs: n.outputs.map((o) => g.value(o)), attrs: n.attrs };
  if (!def.grad && !def.gradOutputs) throw new Error(`autodiff: op ${where} has no gradient rule: add one to ${ruleFile(n.op)}`);
  const [dy, ...rest] = dOut;
  const stray = rest.findIndex((d) => d);
  if (def.grad && (!dy || stray >= 0)) {
    throw new Error(`autodiff: a gradient reaches output ${dy ? stray + 1 : dOut.findIndex((d) => d)} of ${where}, whose rule (${ruleFile(n.op)}) differentiates output 0 only`);
  }
  try {
    return def.grad && dy ? def.grad({ ...ctx, dy }) : def.gradOutputs ? def.gradOutputs({ ...ctx, dOut }) : [];
  } catch (e) {
    throw new Error(`autodiff: gradient of ${where} failed: ${(e as Error).message}`);
  }
}
