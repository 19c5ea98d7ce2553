/**
 * Micro-benchmark harness: graphs built with melseg's IR, run in onnxruntime with the training
 * session options, alternatives timed in interleaved rounds (so machine load falls on all alike).
 */
import * as ort from 'onnxruntime-node';
import { Graph, numel, type Value } from '../onnx/graph';
import { gradients } from '../autodiff';
import { sessionFromBytes, trainSessionOptions } from '../onnx/run';
import { serialize } from '../onnx/proto';
import { seededUniform } from '../models/init';
import { median } from './args';
import { findProfile, profilePrefix, summarizeProfile, type ProfileSummary } from './profile';

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

export async function prepare(c: Case, threads = 2, profile?: string): Promise<Prepared> {
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
  const session = await sessionFromBytes(serialize(g), { ...trainSessionOptions(threads), ...c.session, ...(profile ? { enableProfiling: true, profileFilePrefix: profile } : {}) });
  const rand = seededUniform(3);
  const feeds: Record<string, ort.Tensor> = {};
  for (const v of g.inputs) {
    const shape = v.shape as number[];
    feeds[v.name] = new ort.Tensor('float32', new Float32Array(numel(shape)).map(() => 2 * rand() - 1), shape);
  }
  return { name: c.name, session, feeds, nodes: g.nodes.length };
}

/** Median ms per run of each case, over `rounds` interleaved rounds of `reps` runs. */
export async function race(cases: Prepared[], rounds = 5, reps = 3): Promise<Map<string, number>> {
  const ts = new Map(cases.map((c) => [c.name, [] as number[]]));
  for (const c of cases) await c.session.run(c.feeds);
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? [...cases].reverse() : cases;
    for (const c of order) {
      for (let k = 0; k < reps; k++) {
        const t = performance.now();
        await c.session.run(c.feeds);
        ts.get(c.name)!.push(performance.now() - t);
      }
    }
  }
  return new Map([...ts].map(([k, v]) => [k, median(v)]));
}

/** Per-op kernel times of one case over `runs` runs (after one warm-up run). */
export async function profileCase(c: Case, runs = 3, threads = 2): Promise<ProfileSummary> {
  const prefix = profilePrefix();
  const p = await prepare(c, threads, prefix);
  for (let i = 0; i <= runs; i++) await p.session.run(p.feeds);
  p.session.endProfiling();
  const s = summarizeProfile(findProfile(prefix), 1);
  await p.session.release();
  return s;
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
      return wrt.map((v) => grads.get(v.name)!);
    },
  };
}
