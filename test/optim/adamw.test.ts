/**
 * AdamW as graph ops: the optimizer graph against torch.optim.AdamW (Debian's python3-torch), and the
 * fused train step against the training graph followed by the optimizer graph.
 */
import { execFileSync } from 'child_process';
import * as ort from 'onnxruntime-node';
import { initialCheckpoint, optimizerGraph, parameterSpecs, resolveConfig, trainingGraph, trainStepGraph, type ResolvedConfig } from '../../src/graphs';
import { ortOrder } from '../../src/graphs/liveness';
import type { ParamSpec } from '../../src/models/builder';
import * as N from '../../src/onnx/names';
import type { Graph } from '../../src/onnx/graph';
import { serialize } from '../../src/onnx/proto';
import { openSession } from '../../src/onnx/session';
import { randn, seeded } from '../helpers/random';
import { oracleDescribe, PY } from '../helpers/oracle';


const f32 = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);
const scalar = (x: number) => f32(Float32Array.of(x), []);

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

oracleDescribe('torch')('the optimizer graph', () => {
  test('takes the same three steps as torch.optim.AdamW (bias correction, decoupled weight decay)', async () => {
    const specs: ParamSpec[] = [
      { name: 'a.weight', shape: [4, 3], trainable: true, dtype: 'float32', init: 'uniform', graphInput: true },
      { name: 'b.bias', shape: [5], trainable: true, dtype: 'float32', init: 'zeros', graphInput: true },
    ];
    const rand = seeded(11);
    const p0 = specs.map((p) => randn(rand, p.shape.reduce((x, y) => x * y, 1)));
    // three gradients per parameter, of mixed scales (AdamW's update is scale-free only asymptotically)
    const grads = [0, 1, 2].map((k) => specs.map((p) => randn(rand, p.shape.reduce((x, y) => x * y, 1), 10 ** (k - 1))));
    const lrs = [3e-4, 1e-2, 3e-3];

    const session = await openSession(serialize(optimizerGraph(specs)));
    let p: Float32Array[] = p0.map((x) => Float32Array.from(x));
    let m: Float32Array[] = p0.map((x) => new Float32Array(x.length));
    let v: Float32Array[] = p0.map((x) => new Float32Array(x.length));
    for (let t = 1; t <= 3; t++) {
      const feeds: Record<string, ort.Tensor> = { [N.LR]: scalar(lrs[t - 1]), [N.STEP]: scalar(t) };
      specs.forEach((s, i) => {
        feeds[s.name] = f32(p[i], s.shape);
        feeds[N.gradName(s.name)] = f32(grads[t - 1][i], s.shape);
        feeds[N.firstMoment(s.name)] = f32(m[i], s.shape);
        feeds[N.secondMoment(s.name)] = f32(v[i], s.shape);
      });
      const r = await session.run(feeds);
      p = specs.map((s) => r[N.nextName(s.name)].data as Float32Array);
      m = specs.map((s) => r[N.nextName(N.firstMoment(s.name))].data as Float32Array);
      v = specs.map((s) => r[N.nextName(N.secondMoment(s.name))].data as Float32Array);
    }

    const script = [
      'import json, sys, torch',
      'd = json.load(sys.stdin)',
      'ps = [torch.nn.Parameter(torch.tensor(x, dtype=torch.float32)) for x in d["p0"]]',
      'opt = torch.optim.AdamW(ps, lr=d["lrs"][0], weight_decay=0.01)',
      'for t, gs in enumerate(d["grads"]):',
      '    for g in opt.param_groups: g["lr"] = d["lrs"][t]',
      '    for q, g in zip(ps, gs): q.grad = torch.tensor(g, dtype=torch.float32)',
      '    opt.step()',
      'st = [opt.state[q] for q in ps]',
      'print(json.dumps({"p": [q.detach().tolist() for q in ps], "m": [s["exp_avg"].tolist() for s in st], "v": [s["exp_avg_sq"].tolist() for s in st]}))',
    ].join('\n');
    const input = JSON.stringify({ p0: p0.map((x) => Array.from(x)), grads: grads.map((gs) => gs.map((x) => Array.from(x))), lrs });
    const ref = JSON.parse(execFileSync(PY, ['-c', script], { input }).toString());
    specs.forEach((_, i) => {
      expect(maxAbsDiff(p[i], ref.p[i])).toBeLessThan(1e-6);
      expect(maxAbsDiff(m[i], ref.m[i])).toBeLessThan(1e-6);
      expect(maxAbsDiff(v[i], ref.v[i])).toBeLessThan(1e-6);
      // the step moved every weight, by up to about lr per step
      expect(maxAbsDiff(p[i], p0[i])).toBeGreaterThan(1e-3);
    });
  });
});

describe('the fused train step', () => {
  function feedsOf(c: ResolvedConfig, specs: ParamSpec[], inputs: readonly string[]): Record<string, ort.Tensor> {
    const ck = initialCheckpoint(c, specs);
    const rand = seeded(5);
    const S = c.imageSize;
    const f: Record<string, ort.Tensor> = {
      [N.IMAGE]: f32(randn(rand, 2 * 3 * S * S), [2, 3, S, S]),
      [N.MASK]: f32(Float32Array.from({ length: 2 * S * S }, (_, i) => ((i % S) - S / 2) ** 2 + (((i / S) | 0) % S - S / 2) ** 2 < S * 3 ? 1 : 0), [2, 1, S, S]),
      [N.LR]: scalar(1e-3),
      [N.STEP]: scalar(3),
    };
    for (const p of specs) {
      if (p.dtype !== 'float32') continue;
      const d = ck.params[p.name].data as Float32Array;
      f[p.name] = f32(d, p.shape);
      f[N.firstMoment(p.name)] = f32(randn(rand, d.length, 1e-3), p.shape);
      f[N.secondMoment(p.name)] = f32(Float32Array.from(randn(rand, d.length, 1e-3), (x) => x * x), p.shape);
    }
    return Object.fromEntries(inputs.map((n) => [n, f[n]]));
  }

  test('equals the training graph followed by the optimizer graph', async () => {
    const c = resolveConfig({ model: 3, loss: 9, imageSize: 32, width: 1 / 16 });
    const specs = parameterSpecs(c);
    const run = async (g: Graph, feeds: Record<string, ort.Tensor>) => {
      const s = await openSession(serialize(g));
      return s.run(Object.fromEntries(s.inputNames.map((n) => [n, feeds[n]])));
    };
    const fusedGraph = trainStepGraph(c);
    const feeds = feedsOf(c, specs, fusedGraph.inputs.map((v) => v.name));
    const fused = await run(fusedGraph, feeds);
    const grads = await run(trainingGraph(c), feeds);
    const trainable = specs.filter((p) => p.trainable);
    const opt = await run(optimizerGraph(specs), { ...feeds, ...Object.fromEntries(trainable.map((p) => [N.gradName(p.name), grads[N.gradName(p.name)]])) });
    for (const p of trainable) {
      for (const out of [N.nextName(p.name), N.nextName(N.firstMoment(p.name)), N.nextName(N.secondMoment(p.name))]) {
        expect(maxAbsDiff(fused[out].data as Float32Array, opt[out].data as Float32Array)).toBeLessThan(1e-6);
      }
    }
  });

  test('runs every update after the backward pass: each new weight and moment depends on every gradient, the last computed included', () => {
    const c = resolveConfig({ model: 1, loss: 9, imageSize: 32, width: 1 / 16 });
    const g = trainStepGraph(c);
    const producer = new Map(g.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
    const ancestors = (value: string): Set<string> => {
      const seen = new Set<string>();
      const stack = [value];
      while (stack.length) {
        const n = producer.get(stack.pop() as string);
        if (!n || seen.has(n.name)) continue;
        seen.add(n.name);
        stack.push(...n.inputs.filter(Boolean));
      }
      return seen;
    };
    // the gate: one ReduceMax per parameter gradient, chained
    const trainable = parameterSpecs(c).filter((p) => p.trainable);
    const gates = g.nodes.filter((n) => n.op === 'ReduceMax');
    expect(gates).toHaveLength(trainable.length);
    const updates = g.outputs.map((o) => o.name).filter((o) => o.endsWith('_next') && !o.includes('running_'));
    expect(updates.length).toBe(3 * trainable.length);
    for (const u of updates) {
      const up = ancestors(u);
      expect({ u, missing: gates.filter((q) => !up.has(q.name)).length }).toEqual({ u, missing: 0 });
    }
    // the first parameter's gradient (the input layer's: the backward pass's last) is among them
    expect(gates.some((q) => g.value(q.inputs[0]).shape.join() === trainable[0].shape.join())).toBe(true);
  });

  test("onnxruntime reaches the gradients in the order the graph computes them (the gate's chain), not all after the last", () => {
    const c = resolveConfig({ model: 1, loss: 9, imageSize: 32, width: 1 / 16 });
    const g = trainStepGraph(c);
    // the gradients: what AdamW squares (v' = b2 v + (1 - b2) g*g)
    // (BatchNorm's xc * xc too, but an activation's batch is symbolic)
    const grads = g.nodes.filter((n) => n.op === 'Mul' && n.inputs[0] === n.inputs[1]).map((n) => n.inputs[0]).filter((v) => g.value(v).shape.every((d) => typeof d === 'number'));
    expect(grads).toHaveLength(parameterSpecs(c).filter((p) => p.trainable).length);
    const positionIn = (nodes: typeof g.nodes) => {
      const at = new Map(nodes.flatMap((n, i) => n.outputs.map((o) => [o, i] as const)));
      return grads.map((v) => at.get(v) as number);
    };
    const byGraph = [...grads].sort((a, b) => positionIn(g.nodes)[grads.indexOf(a)] - positionIn(g.nodes)[grads.indexOf(b)]);
    const ran = positionIn(ortOrder(g));
    const byOrt = [...grads].sort((a, b) => ran[grads.indexOf(a)] - ran[grads.indexOf(b)]);
    expect(byOrt).toEqual(byGraph);
  });
});
