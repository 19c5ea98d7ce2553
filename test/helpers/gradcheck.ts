/**
 * Gradient checks through onnxruntime: the graph's analytic gradient of L = sum(y * R) (R fixed,
 * random) against central finite differences of the same graph's forward, along random directions.
 * L is accumulated in float64 in JS from the float32 y, so the difference quotient is limited only by
 * y's own rounding.
 */
import * as ort from 'onnxruntime-node';
import { Graph, numel, Shape, Value } from '../../src/onnx/graph';
import { gradients } from '../../src/autodiff';
import { sessionFor } from '../../src/onnx/session';
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

export async function gradCheck(
  build: (g: Graph, inputs: Value[]) => Value,
  inputs: CheckInput[],
  opts: { seed?: number; eps?: number; directions?: number; /** inputs whose first dim is declared as symbolic 'N' */ symbolicBatch?: string[] } = {},
): Promise<GradCheckResult> {
  const rand = seeded(opts.seed ?? 7);
  const eps = opts.eps ?? 1e-2;
  const g = new Graph('gradcheck');
  const vals = inputs.map((i) => g.input(i.name, opts.symbolicBatch?.includes(i.name) ? (['N', ...i.shape.slice(1)] as Shape) : i.shape));
  const y = build(g, vals);
  const yShape = y.shape.map((d, k) => (typeof d === 'number' ? d : inputs[0].shape[k]));
  const R = randn(rand, numel(yShape));
  const weighted = g.op1('Mul', [y, g.f32(R, yShape)]);
  const loss = g.op1('ReduceSum', [weighted], { keepdims: 0 });
  const diffInputs = vals.filter((_, k) => inputs[k].diff !== false);
  const grads = gradients(g, loss, diffInputs);
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
