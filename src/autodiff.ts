/**
 * Reverse-mode autodiff over the graph IR: walk the recorded nodes backwards from `loss`, call each
 * op's gradient rule (src/ops) and sum the contributions that reach each value. Rules emit forward
 * ops only, so the gradient is just more graph.
 */
import type { Graph, Value } from './onnx/graph';
import { getOp } from './ops/registry';

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
  pending.set(loss.name, [loss.shape.length === 0 ? g.f32(1) : g.op1('Add', [g.op1('Mul', [loss, g.f32(0)]), g.f32(1)])]);
  const total = (name: string): Value | null => {
    const parts = pending.get(name);
    if (!parts || parts.length === 0) return null;
    const sum = parts.reduce((a, b) => g.op1('Add', [a, b], {}, 'gsum'));
    pending.set(name, [sum]);
    return sum;
  };
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (!n.outputs.some((o) => pending.has(o))) continue;
    if (!n.inputs.some((x) => active.has(x))) continue;
    const def = getOp(n.op);
    if (!def.grad) throw new Error(`autodiff: op '${n.op}' (node ${n.name}) has no gradient rule in src/ops/${n.op}.ts`);
    const dOut = n.outputs.map(total);
    let dIn: (Value | null)[];
    try {
      dIn = def.grad({
        g,
        node: n,
        inputs: n.inputs.map((x) => (x ? g.value(x) : null)),
        outputs: n.outputs.map((o) => g.value(o)),
        dOut,
        attrs: n.attrs,
      });
    } catch (e) {
      throw new Error(`autodiff: gradient of ${n.op} (node ${n.name}) failed: ${(e as Error).message}`);
    }
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
