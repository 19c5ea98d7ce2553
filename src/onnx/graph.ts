/**
 * The graph IR: a tape that records ONNX nodes in topological order.
 * `g.op(type, inputs, attrs)` runs the op's shape rule (from the registry in src/ops) and returns the
 * output values; the model is serialised once, at the end (src/onnx/proto.ts).
 * A dimension is a number, or a string for a symbolic dimension (the batch size `N`).
 */
import { getOp } from '../ops/registry';
import { checkOperands } from '../ops/types';
import type { DType } from './dtype';

export type { DType } from './dtype';
export type Dim = number | string;
export type Shape = Dim[];
export type AttrValue = number | number[] | string | string[] | TensorData;
export type Attrs = Record<string, AttrValue>;

export interface TensorData {
  dtype: DType;
  shape: number[];
  data: Float32Array | BigInt64Array | Uint8Array;
}

export interface Value {
  readonly name: string;
  readonly shape: Shape;
  readonly dtype: DType;
}

export interface Node {
  op: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: Attrs;
  name: string;
}

/** The op type a node is written as: its rule's onnxType where the registry key differs (contrib ops named like standard ones). */
export function onnxOpType(n: Node): string {
  return getOp(n.op).onnxType ?? n.op;
}

export function isTensorData(a: unknown): a is TensorData {
  return typeof a === 'object' && a !== null && 'data' in a && 'shape' in a && 'dtype' in a;
}

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number') throw new Error(`numel: shape [${shape}] has symbolic dimension '${d}'`);
    n *= d;
  }
  return n;
}

export class Graph {
  readonly values = new Map<string, Value>();
  nodes: Node[] = [];
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  readonly initializers = new Map<string, TensorData>();
  /** Producer node of each value (absent for inputs and initializers). */
  private producer = new Map<string, Node>();
  private counter = 0;
  private constCache = new Map<string, Value>();

  constructor(readonly name = 'melseg') {}

  /** A fresh value name: `<hint>_<k>`, never reused. */
  fresh(hint: string): string {
    let name: string;
    do name = `${hint}_${this.counter++}`; while (this.values.has(name));
    return name;
  }

  private register(v: Value): Value {
    if (this.values.has(v.name)) throw new Error(`graph: value name '${v.name}' is already defined`);
    this.values.set(v.name, v);
    return v;
  }

  value(name: string): Value {
    const v = this.values.get(name);
    if (!v) throw new Error(`graph: no value named '${name}'`);
    return v;
  }

  input(name: string, shape: Shape, dtype: DType = 'float32'): Value {
    const v = this.register({ name, shape: [...shape], dtype });
    this.inputs.push(v);
    return v;
  }

  /** An initializer (constant). Small integer constants are shared by content. */
  constant(t: TensorData, hint = 'const'): Value {
    const small = t.data.length <= 16;
    const key = small ? `${t.dtype}|${t.shape.join(',')}|${Array.from(t.data as ArrayLike<number | bigint>).join(',')}` : '';
    if (small) {
      const hit = this.constCache.get(key);
      if (hit) return hit;
    }
    const v = this.register({ name: this.fresh(hint), shape: [...t.shape], dtype: t.dtype });
    this.initializers.set(v.name, t);
    if (small) this.constCache.set(key, v);
    return v;
  }

  /** int64 constant, a vector by default (`scalar` for a 0-d one). */
  i64(values: number[], scalar = false): Value {
    return this.constant({ dtype: 'int64', shape: scalar ? [] : [values.length], data: BigInt64Array.from(values.map(BigInt)) }, 'i64');
  }

  /** float32 constant of any shape (a scalar by default). */
  f32(values: number | number[] | Float32Array, shape?: number[]): Value {
    const data = typeof values === 'number' ? Float32Array.of(values) : Float32Array.from(values);
    const s = shape ?? (typeof values === 'number' ? [] : [data.length]);
    return this.constant({ dtype: 'float32', shape: s, data }, 'f32');
  }

  constValue(v: Value): TensorData | undefined {
    return this.initializers.get(v.name);
  }

  /** Constant int64 contents of a value, or undefined if it is not a constant. */
  constInts(v: Value): number[] | undefined {
    const t = this.initializers.get(v.name);
    if (!t) return undefined;
    return Array.from(t.data as ArrayLike<number | bigint>, Number);
  }

  producerOf(name: string): Node | undefined {
    return this.producer.get(name);
  }

  /** Record one node; returns its outputs (shapes from the op's shape rule). */
  op(type: string, inputs: (Value | null)[], attrs: Attrs = {}, hint?: string): Value[] {
    const def = getOp(type);
    const bad = checkOperands(def.inputs, inputs);
    if (bad) throw new Error(`${type}: ${bad}`);
    let outs: { shape: Shape; dtype: DType }[];
    try {
      outs = def.shape(inputs, attrs, this);
    } catch (e) {
      const shapes = inputs.map((x) => (x ? `${x.name}[${x.shape}]` : '-')).join(', ');
      throw new Error(`${type}: shape rule failed for inputs (${shapes}): ${(e as Error).message}`);
    }
    const base = hint ?? type.toLowerCase();
    const outputs = outs.map((o) => this.register({ name: this.fresh(base), shape: o.shape, dtype: o.dtype }));
    const node: Node = {
      op: type,
      domain: def.domain ?? '',
      inputs: inputs.map((x) => (x ? x.name : '')),
      outputs: outputs.map((o) => o.name),
      attrs,
      name: `${type}_${this.counter++}`,
    };
    this.nodes.push(node);
    for (const o of node.outputs) this.producer.set(o, node);
    return outputs;
  }

  /** The single output of a one-output op. */
  op1(type: string, inputs: (Value | null)[], attrs: Attrs = {}, hint?: string): Value {
    return this.op(type, inputs, attrs, hint)[0];
  }

  /**
   * Make `v` a graph output called `name`. A node output is renamed in place; a graph input or a
   * constant, or a value already exposed, gets an Identity.
   */
  output(v: Value, name = v.name): Value {
    let out = v;
    const node = this.producer.get(v.name);
    const taken = this.outputs.some((o) => o.name === v.name);
    if (name !== v.name || !node || taken) {
      if (node && !taken && !this.values.has(name)) {
        this.rename(v.name, name);
        out = this.value(name);
      } else {
        out = this.register({ name, shape: v.shape, dtype: v.dtype });
        const id: Node = { op: 'Identity', domain: '', inputs: [v.name], outputs: [name], attrs: {}, name: `Identity_${this.counter++}` };
        this.nodes.push(id);
        this.producer.set(name, id);
      }
    }
    this.outputs.push(out);
    return out;
  }

  /** Rename a node-produced value everywhere it is used. */
  rename(from: string, to: string): void {
    const v = this.value(from);
    if (this.values.has(to)) throw new Error(`graph: cannot rename '${from}' to '${to}': name taken`);
    this.values.delete(from);
    this.values.set(to, { ...v, name: to });
    for (const n of this.nodes) {
      n.inputs = n.inputs.map((x) => (x === from ? to : x));
      n.outputs = n.outputs.map((x) => (x === from ? to : x));
    }
    const p = this.producer.get(from);
    if (p) {
      this.producer.delete(from);
      this.producer.set(to, p);
    }
  }

  /**
   * Remove an optional output of a node: the node no longer produces `name` (a trailing output is
   * dropped, an inner one becomes '', as ONNX spells an absent optional output). The caller makes
   * sure nothing reads it.
   */
  dropOutput(name: string): void {
    const n = this.producer.get(name);
    if (!n) throw new Error(`graph: cannot drop '${name}': no node produces it`);
    n.outputs = n.outputs.map((o) => (o === name ? '' : o));
    while (n.outputs.length && n.outputs[n.outputs.length - 1] === '') n.outputs.pop();
    this.producer.delete(name);
    this.values.delete(name);
  }

  /** Remove nodes whose outputs reach no graph output, and unused initializers. */
  prune(): void {
    const live = new Set(this.outputs.map((o) => o.name));
    const kept: Node[] = [];
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i];
      if (n.outputs.some((o) => live.has(o))) {
        kept.push(n);
        for (const x of n.inputs) if (x) live.add(x);
      }
    }
    this.nodes = kept.reverse();
    for (const name of [...this.initializers.keys()]) {
      if (!live.has(name)) {
        this.initializers.delete(name);
        this.values.delete(name);
      }
    }
    this.constCache = new Map([...this.constCache].filter(([, v]) => this.initializers.has(v.name)));
  }

  /**
   * Expand composite (melseg-domain) ops into standard ONNX ops with each op's `lower` rule.
   * The expansion's outputs take the composite node's output names.
   */
  lower(): void {
    this.rewrite((n) => {
      const def = getOp(n.op);
      return def.lower ? def.lower(this, n.inputs.map((x) => (x ? this.value(x) : null)), n.attrs) : undefined;
    });
  }

  /**
   * Replace nodes in place: `fn` either returns undefined (keep the node) or emits replacement ops
   * with this graph's op() and returns the values that stand for the node's outputs, which then take
   * the node's output names (so consumers and graph outputs are untouched).
   */
  rewrite(fn: (n: Node) => Value[] | undefined): void {
    const old = this.nodes;
    this.nodes = [];
    for (const n of old) {
      const before = this.nodes.length;
      const outs = fn(n);
      if (!outs) {
        this.nodes.push(n);
        continue;
      }
      outs.forEach((o, i) => {
        const target = n.outputs[i];
        if (!target) return;
        this.values.delete(target);
        const emitted = this.nodes.slice(before).some((m) => m.outputs.includes(o.name));
        if (emitted) {
          this.rename(o.name, target);
        } else {
          this.register({ name: target, shape: o.shape, dtype: o.dtype });
          const id: Node = { op: 'Identity', domain: '', inputs: [o.name], outputs: [target], attrs: {}, name: `Identity_${this.counter++}` };
          this.nodes.push(id);
          this.producer.set(target, id);
        }
      });
    }
  }

  /** Node counts by op type, for reports. */
  opCounts(): Record<string, number> {
    const c: Record<string, number> = {};
    for (const n of this.nodes) c[n.op] = (c[n.op] ?? 0) + 1;
    return c;
  }

  /** The op types present, sorted, qualified as 'domain:Op' outside ai.onnx: what a provider must run. */
  opTypes(): string[] {
    return [...new Set(this.nodes.map((n) => (n.domain ? `${n.domain}:${n.op}` : n.op)))].sort();
  }
}
