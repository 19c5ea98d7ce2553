/**
 * Micro-benchmark harness: graphs built with melseg's IR, run in onnxruntime with the session
 * options training uses (src/onnx/session.ts), alternatives timed in interleaved rounds (so machine
 * load falls on all alike).
 */
import * as ort from 'onnxruntime-node';
import { gradients } from '../src/autodiff';
import { seededUniform } from '../src/models/init';
import { Graph, numel, type Value } from '../src/onnx/graph';
import { serialize } from '../src/onnx/proto';
import { openSession } from '../src/onnx/session';
import type { Pass } from '../src/passes/pass';
import { median } from './args';

export interface Case {
  name: string;
  /** build the graph: declare inputs with g.input, return the values to output */
  build(g: Graph): Value[];
  session?: ort.InferenceSession.SessionOptions;
}

export interface Prepared {
  name: string;
  session: ort.InferenceSession;
  feeds: Record<string, ort.Tensor>;
  nodes: number;
}

export async function prepare(c: Case, threads = 2): Promise<Prepared> {
  const g = new Graph(c.name);
  const outs = c.build(g);
  // Outputs above 64 KiB are summed to a scalar in-graph: the binding's copy of a large output into
  // a fresh JS buffer (page faults) would otherwise dominate. The sum is one read pass, the same for all.
  outs.forEach((o, i) => {
    const big = o.shape.every((d) => typeof d === 'number') && numel(o.shape) > 16384;
    g.output(big ? g.op1('ReduceSum', [o], { keepdims: 0 }) : o, `out${i}`);
  });
  g.lower();
  g.prune();
  const session = await openSession(serialize(g), 'cpu', { threads, extra: c.session });
  const rand = seededUniform(3);
  const feeds: Record<string, ort.Tensor> = {};
  for (const v of g.inputs) {
    const shape = v.shape as number[];
    feeds[v.name] = new ort.Tensor('float32', new Float32Array(numel(shape)).map(() => 2 * rand() - 1), shape);
  }
  return { name: c.name, session, feeds, nodes: g.nodes.length };
}

/**
 * Median ms per run of each case, over `rounds` interleaved rounds of `reps` runs: wall time, and
 * this process's CPU time (steadier where other work shares the machine; with 1 thread it is the
 * work itself, with more it adds the threads' spin-waits).
 */
export async function race(cases: Prepared[], rounds = 5, reps = 3): Promise<Map<string, { wall: number; cpu: number }>> {
  const ts = new Map(cases.map((c) => [c.name, { wall: [] as number[], cpu: [] as number[] }]));
  for (const c of cases) await c.session.run(c.feeds);
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? [...cases].reverse() : cases;
    for (const c of order) {
      const t = ts.get(c.name);
      for (let k = 0; k < reps && t; k++) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await c.session.run(c.feeds);
        const used = process.cpuUsage(c0);
        t.wall.push(performance.now() - t0);
        t.cpu.push((used.user + used.system) / 1000);
      }
    }
  }
  return new Map([...ts].map(([k, v]) => [k, { wall: median(v.wall), cpu: median(v.cpu) }]));
}

/**
 * A case that times a forward pass and its backward pass: `forward` returns y and the inputs to
 * differentiate; the loss is sum(y * R) with R a constant of y's shape (so dy = R), and the outputs
 * are the gradients (summed to scalars by prepare()).
 */
export function withGradients(name: string, forward: (g: Graph) => { y: Value; wrt: Value[] }, session?: ort.InferenceSession.SessionOptions): Case {
  return {
    name,
    session,
    build: (g) => {
      const { y, wrt } = forward(g);
      const shape = y.shape as number[];
      const rand = seededUniform(5);
      const R = g.f32(new Float32Array(numel(shape)).map(() => 2 * rand() - 1), shape);
      const loss = g.op1('ReduceSum', [g.op1('Mul', [y, R])], { keepdims: 0 });
      const grads = gradients(g, loss, wrt);
      return wrt.flatMap((v) => grads.get(v.name) ?? []);
    },
  };
}

/** The same case with `passes` applied to its graph (a pipeline pass timed against its absence). */
export function withPasses(name: string, c: Case, passes: Pass[]): Case {
  return {
    name,
    session: c.session,
    build: (g) => {
      const outs = c.build(g);
      for (const p of passes) p.run(g);
      return outs;
    },
  };
}
