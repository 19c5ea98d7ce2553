/**
 * Gradient checks through onnxruntime.
 * - gradCheck (one op or a small graph): the graph's analytic gradient of L = sum(y * R) (R fixed,
 *   random) against central finite differences of the same graph's forward, along random directions.
 *   L is accumulated in float64 in JS from the float32 y, so the difference quotient is limited only
 *   by y's own rounding.
 * - tensorwiseCheck (a whole training graph), with freezeKinks and evalFloat64: one comparison per
 *   parameter tensor, so that an error confined to one small tensor cannot hide among the others.
 */
import * as ort from 'onnxruntime-node';
import { Graph, numel, Shape, Value } from '../../src/onnx/graph';
import { gradients } from '../../src/autodiff';
import { getOp } from '../../src/ops/registry';
import { sessionFor } from '../../src/onnx/session';
import { serialize } from '../../src/onnx/proto';
import { randn, seeded } from './random';

export interface CheckInput {
  name: string;
  shape: number[];
  data: Float32Array;
  /** false: fed but not differentiated (e.g. masks). */
  diff?: boolean;
}

export interface GradCheckResult {
  worst: number;
  details: { input: string; analytic: number; numeric: number; relErr: number }[];
}

export type Build = (g: Graph, inputs: Value[]) => Value;

export interface GradCheckOptions {
  seed?: number;
  eps?: number;
  directions?: number;
  /** inputs whose first dim is declared as symbolic 'N' */
  symbolicBatch?: string[];
}

/**
 * The graph gradCheck runs: y = build(inputs), L = sum(y * R) with R drawn from `rand`, and the
 * gradients of L.
 */
function checkGraph(build: Build, inputs: CheckInput[], opts: GradCheckOptions, rand: () => number) {
  const g = new Graph('gradcheck');
  const vals = inputs.map((i) => g.input(i.name, opts.symbolicBatch?.includes(i.name) ? (['N', ...i.shape.slice(1)] as Shape) : i.shape));
  const y = build(g, vals);
  const yShape = y.shape.map((d, k) => (typeof d === 'number' ? d : inputs[0].shape[k]));
  const R = randn(rand, numel(yShape));
  const weighted = g.op1('Mul', [y, g.f32(R, yShape)]);
  const loss = g.op1('ReduceSum', [weighted], { keepdims: 0 });
  const diffInputs = vals.filter((_, k) => inputs[k].diff !== false);
  const grads = gradients(g, loss, diffInputs);
  return { g, y, R, diffInputs, grads };
}

/**
 * The op types whose gradient rules the walker calls for a gradCheck of `build`, among `types` (each
 * rule is wrapped while the gradient graph is built, then restored), counting only nodes `build`
 * recorded: the ops a finite-difference check of this build exercises.
 */
export function differentiatedOps(build: Build, inputs: CheckInput[], types: string[], opts: GradCheckOptions = {}): Set<string> {
  const called = new Set<string>();
  let built = new Set<string>();
  const restore = types.map((type) => {
    const def = getOp(type);
    const { grad, gradOutputs } = def;
    const note = (ctx: { outputs: Value[] }) => {
      if (built.has(ctx.outputs[0].name)) called.add(type);
    };
    if (grad) def.grad = (ctx) => (note(ctx), grad.call(def, ctx));
    if (gradOutputs) def.gradOutputs = (ctx) => (note(ctx), gradOutputs.call(def, ctx));
    return () => Object.assign(def, { grad, gradOutputs });
  });
  try {
    // `build` runs before the gradients: its node outputs are known by the time a rule is called
    checkGraph((g, vals) => {
      const y = build(g, vals);
      built = new Set(g.nodes.flatMap((n) => n.outputs));
      return y;
    }, inputs, opts, seeded(opts.seed ?? 7));
  } finally {
    restore.forEach((r) => r());
  }
  return called;
}

export async function gradCheck(build: Build, inputs: CheckInput[], opts: GradCheckOptions = {}): Promise<GradCheckResult> {
  const rand = seeded(opts.seed ?? 7);
  const eps = opts.eps ?? 1e-2;
  const { g, y, R, diffInputs, grads } = checkGraph(build, inputs, opts, rand);
  g.output(y, 'y');
  for (const v of diffInputs) g.output(grads.get(v.name)!, `${v.name}_grad`);
  const session = await sessionFor(g);
  const feeds = (over: Record<string, Float32Array> = {}) => {
    const f: Record<string, ort.Tensor> = {};
    for (const i of inputs) f[i.name] = new ort.Tensor('float32', over[i.name] ?? i.data, i.shape);
    return f;
  };
  const base = await session.run(feeds());
  const L = async (over: Record<string, Float32Array>) => {
    const out = await session.run(feeds(over), ['y']);
    const yv = out.y.data as Float32Array;
    let s = 0;
    for (let k = 0; k < yv.length; k++) s += yv[k] * R[k];
    return s;
  };
  const details: GradCheckResult['details'] = [];
  for (const inp of inputs) {
    if (inp.diff === false) continue;
    const grad = base[`${inp.name}_grad`].data as Float32Array;
    for (let d = 0; d < (opts.directions ?? 2); d++) {
      const v = randn(rand, inp.data.length);
      let analytic = 0;
      for (let k = 0; k < v.length; k++) analytic += grad[k] * v[k];
      const plus = inp.data.map((x, k) => x + eps * v[k]);
      const minus = inp.data.map((x, k) => x - eps * v[k]);
      const numeric = ((await L({ [inp.name]: plus })) - (await L({ [inp.name]: minus }))) / (2 * eps);
      const relErr = Math.abs(analytic - numeric) / Math.max(Math.abs(analytic), Math.abs(numeric), 1e-2);
      details.push({ input: inp.name, analytic, numeric, relErr });
    }
  }
  return { worst: Math.max(...details.map((d) => d.relErr)), details };
}

export function input(name: string, shape: number[], seed: number, scale = 1): CheckInput {
  return { name, shape, data: randn(seeded(seed), shape.reduce((a, b) => a * b, 1), scale) };
}

/** A float64 tensor for evalFloat64. */
export interface F64 {
  shape: number[];
  data: Float64Array;
}

/**
 * Evaluates a small graph (a loss of the table: elementwise ops, Clip and reductions) in float64 in
 * JS, node by node as recorded. The whole-graph check uses it so that the loss's sums over pixels
 * add no float32 rounding to the differences it takes. Any other op throws, naming it.
 */
export function evalFloat64(g: Graph, feeds: Record<string, F64>, output: string): F64 {
  const env = new Map<string, F64>(Object.entries(feeds));
  for (const [name, t] of g.initializers) env.set(name, { shape: t.shape, data: Float64Array.from(t.data as ArrayLike<number | bigint>, Number) });
  const get = (name: string) => {
    const t = env.get(name);
    if (!t) throw new Error(`evalFloat64: no value '${name}' (feed it)`);
    return t;
  };
  const map = (x: F64, f: (v: number) => number): F64 => ({ shape: x.shape, data: x.data.map(f) });
  const binary = (a: F64, b: F64, f: (x: number, y: number) => number): F64 => {
    const rank = Math.max(a.shape.length, b.shape.length);
    const pad = (s: number[]) => [...Array(rank - s.length).fill(1), ...s];
    const [sa, sb] = [pad(a.shape), pad(b.shape)];
    const shape = sa.map((d, k) => Math.max(d, sb[k]));
    const strides = (s: number[]) => s.map((d, k) => (d === 1 ? 0 : s.slice(k + 1).reduce((p, q) => p * q, 1)));
    const [ta, tb] = [strides(sa), strides(sb)];
    const n = shape.reduce((p, q) => p * q, 1);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let [r, ia, ib] = [i, 0, 0];
      for (let k = rank - 1; k >= 0; k--) {
        const c = r % shape[k];
        r = (r - c) / shape[k];
        ia += c * ta[k];
        ib += c * tb[k];
      }
      out[i] = f(a.data[ia], b.data[ib]);
    }
    return { shape, data: out };
  };
  const reduce = (x: F64, axesIn: number[] | undefined, keep: boolean, mean: boolean): F64 => {
    const axes = (axesIn && axesIn.length ? axesIn : x.shape.map((_, k) => k)).map((a) => (a < 0 ? a + x.shape.length : a));
    const kept = x.shape.map((d, k) => (axes.includes(k) ? 1 : d));
    const out = new Float64Array(kept.reduce((p, q) => p * q, 1));
    const count = axes.reduce((p, a) => p * x.shape[a], 1);
    for (let i = 0; i < x.data.length; i++) {
      let [r, o, stride] = [i, 0, 1];
      for (let k = x.shape.length - 1; k >= 0; k--) {
        const c = r % x.shape[k];
        r = (r - c) / x.shape[k];
        if (!axes.includes(k)) o += c * stride;
        stride *= kept[k];
      }
      out[o] += x.data[i];
    }
    if (mean) for (let i = 0; i < out.length; i++) out[i] /= count;
    return { shape: keep ? kept : x.shape.filter((_, k) => !axes.includes(k)), data: out };
  };
  const softplus = (v: number) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
  for (const n of g.nodes) {
    const x = n.inputs.map((name) => (name ? get(name) : undefined));
    const keep = (n.attrs.keepdims ?? 1) !== 0;
    let y: F64;
    switch (n.op) {
      case 'Identity': y = x[0]!; break;
      case 'Neg': y = map(x[0]!, (v) => -v); break;
      case 'Exp': y = map(x[0]!, Math.exp); break;
      case 'Log': y = map(x[0]!, Math.log); break;
      case 'Sigmoid': y = map(x[0]!, (v) => 1 / (1 + Math.exp(-v))); break;
      case 'Softplus': y = map(x[0]!, softplus); break;
      case 'Add': y = binary(x[0]!, x[1]!, (a, b) => a + b); break;
      case 'Sub': y = binary(x[0]!, x[1]!, (a, b) => a - b); break;
      case 'Mul': y = binary(x[0]!, x[1]!, (a, b) => a * b); break;
      case 'Div': y = binary(x[0]!, x[1]!, (a, b) => a / b); break;
      case 'Pow': y = binary(x[0]!, x[1]!, (a, b) => a ** b); break;
      case 'Clip': y = map(x[0]!, (v) => Math.min(Math.max(v, x[1]?.data[0] ?? -Infinity), x[2]?.data[0] ?? Infinity)); break;
      case 'ReduceSum': y = reduce(x[0]!, x[1] ? Array.from(x[1].data) : undefined, keep, false); break;
      case 'ReduceMean': y = reduce(x[0]!, n.attrs.axes as number[] | undefined, keep, true); break;
      default: throw new Error(`evalFloat64: op ${n.op} is not supported (add it next to the others)`);
    }
    env.set(n.outputs[0], y);
  }
  return get(output);
}

export interface TensorCheck {
  name: string;
  size: number;
  /** d loss / d t along the tensor's direction, per unit step: the graph's gradient and the differences */
  analytic: number;
  numeric: number;
  /** the largest |analytic - numeric| accepted: rtol |analytic| + noiseFactor x the noise of `numeric` */
  allowed: number;
  ok: boolean;
}

/**
 * The whole-graph check, one parameter tensor at a time. For each tensor t, a seeded random direction
 * v (elements of the size of t's RMS, or 1 where t is all zeros) and the directional derivative of
 * the loss along it two ways: the graph's gradient, g . v, and central differences of the loss,
 * D(h) = (L(t + h v) - L(t - h v)) / 2h, at h and 3h, Richardson-extrapolated: (9 D(h) - D(3h)) / 8
 * cancels the h^2 error term. `loss` should be smooth (see freezeKinks) and return float64.
 *
 * The perturbed tensors are float32, so the analytic side uses the step actually taken,
 * (t + h v) - (t - h v) as rounded, not 2 h v. The loss's own rounding noise is measured, not
 * assumed: `invariant` names a tensor the loss does not depend on (a conv bias that a training-mode
 * BatchNorm subtracts again), whose differences are pure noise; their RMS over 16 differences, sigma,
 * bounds the noise of a derivative at step h by about 1.1 sigma / h. A tensor passes when
 * |analytic - numeric| <= rtol |analytic| + noiseFactor sigma / h.
 */
export async function tensorwiseCheck(o: {
  tensors: { name: string; data: Float32Array }[];
  grads: Record<string, ArrayLike<number>>;
  /** the loss with one tensor replaced, in float64 */
  loss: (name: string, data: Float32Array) => Promise<number>;
  invariant: { name: string; data: Float32Array };
  seed: number;
  step?: number;
  rtol?: number;
  noiseFactor?: number;
}): Promise<{ noise: number; tensors: TensorCheck[] }> {
  const rand = seeded(o.seed);
  const h = o.step ?? 3e-3;
  const rtol = o.rtol ?? 2e-3;
  const m = o.noiseFactor ?? 10;
  const direction = (t: Float32Array) => {
    let ss = 0;
    for (const x of t) ss += x * x;
    const v = randn(rand, t.length);
    let vv = 0;
    for (const x of v) vv += x * x;
    const f = (Math.sqrt(ss / t.length) || 1) * Math.sqrt(t.length / vv);
    return Float64Array.from(v, (x) => x * f);
  };
  // half the change of the loss along +-step v, and of its linear model g . step v
  const change = async (name: string, t: Float32Array, v: Float64Array, step: number, g?: ArrayLike<number>) => {
    const plus = Float32Array.from(t, (x, i) => x + step * v[i]);
    const minus = Float32Array.from(t, (x, i) => x - step * v[i]);
    let a = 0;
    if (g) for (let i = 0; i < t.length; i++) a += g[i] * (plus[i] - minus[i]);
    return { numeric: ((await o.loss(name, plus)) - (await o.loss(name, minus))) / 2, analytic: a / 2 };
  };
  let ss = 0;
  for (let k = 0; k < 8; k++) {
    const v = direction(o.invariant.data);
    for (const step of [h, 3 * h]) ss += (await change(o.invariant.name, o.invariant.data, v, step)).numeric ** 2;
  }
  const noise = Math.sqrt(ss / 16);
  const tensors: TensorCheck[] = [];
  for (const t of o.tensors) {
    const v = direction(t.data);
    const near = await change(t.name, t.data, v, h, o.grads[t.name]);
    const far = await change(t.name, t.data, v, 3 * h, o.grads[t.name]);
    const analytic = (9 * near.analytic / h - far.analytic / (3 * h)) / 8;
    const numeric = (9 * near.numeric / h - far.numeric / (3 * h)) / 8;
    const allowed = rtol * Math.abs(analytic) + (m * noise) / h;
    tensors.push({ name: t.name, size: t.data.length, analytic, numeric, allowed, ok: Math.abs(analytic - numeric) <= allowed });
  }
  return { noise, tensors };
}

/**
 * The same function with its kinks frozen at one point. ReLU and max-pool make a network piecewise
 * smooth: a difference step that crosses a kink measures the wrong slope, and float32 rounding forbids
 * steps small enough to cross none. Here each Relu becomes a product with its 0/1 pattern at the point
 * (x > 0) and each 2x2/2 MaxPool a Gather of the elements it picked there (the first maximum). The
 * result equals the network on the region around the point where no pattern changes, so its
 * derivative there is the network's, and it is smooth everywhere: central differences can take large
 * steps. `build` must return the same graph each call (lowered and pruned); `feeds` is the point.
 */
export async function freezeKinks(build: () => Graph, feeds: Record<string, ort.Tensor>): Promise<Graph> {
  const probe = build();
  const kinks = probe.nodes.filter((n) => n.op === 'Relu' || n.op === 'MaxPool');
  for (const n of kinks) if (!probe.outputs.some((o) => o.name === n.inputs[0])) probe.output(probe.value(n.inputs[0]));
  const session = await ort.InferenceSession.create(serialize(probe));
  const at = await session.run(Object.fromEntries(session.inputNames.map((k) => [k, feeds[k]])));
  await session.release();
  const g = build();
  g.rewrite((n) => {
    if (n.op !== 'Relu' && n.op !== 'MaxPool') return undefined;
    const x = g.value(n.inputs[0]);
    const t = at[n.inputs[0]];
    const v = t.data as Float32Array;
    const dims = t.dims.map(Number);
    if (n.op === 'Relu') return [g.op1('Mul', [x, g.f32(v.map((e) => (e > 0 ? 1 : 0)), dims)])];
    const [k, s] = [n.attrs.kernel_shape, n.attrs.strides];
    if (String(k) !== '2,2' || String(s) !== '2,2' || n.attrs.pads || n.attrs.dilations || n.attrs.ceil_mode) {
      throw new Error(`freezeKinks: MaxPool ${JSON.stringify(n.attrs)} is not 2x2 with stride 2 (add its case)`);
    }
    const [N, C, H, W] = dims;
    const idx = new BigInt64Array(N * C * (H / 2) * (W / 2));
    let o = 0;
    for (let p = 0; p < N * C; p++) {
      for (let i = 0; i < H; i += 2) {
        for (let j = 0; j < W; j += 2) {
          let best = p * H * W + i * W + j;
          for (const [di, dj] of [[0, 1], [1, 0], [1, 1]]) {
            const q = p * H * W + (i + di) * W + j + dj;
            if (v[q] > v[best]) best = q;
          }
          idx[o++] = BigInt(best);
        }
      }
    }
    const picked = g.constant({ dtype: 'int64', shape: [N, C, H / 2, W / 2], data: idx }, 'argmax');
    return [g.op1('Gather', [g.op1('Reshape', [x, g.i64([-1])]), picked], { axis: 0 })];
  });
  g.prune();
  return g;
}
