import * as ort from 'onnxruntime-node';
import { gradients } from '../../src/autodiff';
import { pipeline, resolveConfig, trainStepGraph } from '../../src/graphs';
import { ortOrder } from '../../src/graphs/liveness';
import type { Pipeline } from '../../src/graphs/pipeline';
import { Graph } from '../../src/onnx/graph';
import * as N from '../../src/onnx/names';
import { serialize } from '../../src/onnx/proto';
import { backwardSideInputsFirstPass } from '../../src/passes/backward-side-inputs-first';
import { seeded } from '../helpers/random';

/** y = Relu(x W^T), loss = sum(y^2), and dW: the ReLU's mask and W's transpose are side inputs of the backward pass. */
function small(): Graph {
  const g = new Graph('small');
  const x = g.input('x', [N.BATCH, 6]);
  const w = g.input('w', [5, 6]);
  const y = g.op1('Relu', [g.op1('MatMul', [x, g.op1('Transpose', [w], { perm: [1, 0] })])]);
  const loss = g.op1('ReduceSum', [g.op1('Mul', [y, y])], { keepdims: 0 }, N.LOSS);
  const dw = gradients(g, loss, [w]).get('w');
  if (!dw) throw new Error('no gradient');
  g.output(loss, N.LOSS);
  g.output(dw, 'dw');
  g.lower();
  g.prune();
  return g;
}

/** Every node's inputs are produced before it (or are graph inputs and constants). */
function topological(g: Graph): boolean {
  const made = new Set([...g.inputs.map((v) => v.name), ...g.initializers.keys()]);
  for (const n of g.nodes) {
    if (n.inputs.some((x) => x && !made.has(x))) return false;
    n.outputs.forEach((o) => made.add(o));
  }
  return true;
}

const lossAt = (g: Graph) => g.nodes.findIndex((n) => n.outputs.includes(N.LOSS));

describe('pass backward-side-inputs-first: the backward pass numbered so that onnxruntime runs its side inputs when they are read', () => {
  test("moves the backward nodes the loss does not reach (the ReLU's mask) before the loss, keeping a topological order", () => {
    const g = small();
    const before = g.nodes.map((n) => n.name);
    const mask = g.nodes.find((n) => n.op === 'Greater');
    expect(mask && before.indexOf(mask.name)).toBeGreaterThan(lossAt(g));
    expect(backwardSideInputsFirstPass.run(g)).toBeGreaterThan(0);
    expect(g.nodes.map((n) => n.name).sort()).toEqual([...before].sort());
    expect(topological(g)).toBe(true);
    expect(g.nodes.findIndex((n) => n.op === 'Greater')).toBeLessThan(lossAt(g));
    // a node that depends on the loss stays after it
    const onLoss = g.nodes.filter((n) => n.inputs.includes(N.LOSS));
    expect(onLoss.length).toBeGreaterThan(0);
    for (const n of onLoss) expect(g.nodes.indexOf(n)).toBeGreaterThan(lossAt(g));
  });

  test('in onnxruntime\'s order the mask then runs after the loss, next to its reader, not right after the ReLU', () => {
    const g = small();
    const ranAt = (h: Graph, op: string) => ortOrder(h).findIndex((n) => n.op === op);
    expect(ranAt(g, 'Greater')).toBeLessThan(ranAt(g, 'ReduceSum'));
    backwardSideInputsFirstPass.run(g);
    expect(ranAt(g, 'Greater')).toBeGreaterThan(ranAt(g, 'ReduceSum'));
  });

  test('leaves a graph without the loss output as it is', () => {
    const g = new Graph('forward');
    g.output(g.op1('Relu', [g.op1('Neg', [g.input('x', [3])])]), 'y');
    const before = g.nodes.map((n) => n.name);
    expect(backwardSideInputsFirstPass.run(g)).toBe(0);
    expect(g.nodes.map((n) => n.name)).toEqual(before);
  });

  test('computes the same loss and gradient, bit for bit', async () => {
    const rand = seeded(4);
    const feeds = {
      x: new ort.Tensor('float32', Float32Array.from({ length: 18 }, () => rand() - 0.5), [3, 6]),
      w: new ort.Tensor('float32', Float32Array.from({ length: 30 }, () => rand() - 0.5), [5, 6]),
    };
    const run = async (g: Graph) => {
      const s = await ort.InferenceSession.create(serialize(g));
      const r = await s.run(feeds);
      await s.release();
      return [...(r[N.LOSS].data as Float32Array), ...(r.dw.data as Float32Array)];
    };
    const plain = small();
    const moved = small();
    backwardSideInputsFirstPass.run(moved);
    expect(await run(moved)).toEqual(await run(plain));
  });

  test("in onnxruntime's order the train step runs every side input after the loss, where without the pass some ran before it (UNet)", () => {
    const c = resolveConfig({ model: 1, loss: 9, imageSize: 32, width: 1 / 16 });
    const p = pipeline(c, { device: 'cpu' });
    const without: Pipeline = { ...p, devicePasses: p.devicePasses.filter((q) => q.name !== backwardSideInputsFirstPass.name) };
    /** the side nodes (after the loss in autodiff's order, not reached from it) that onnxruntime runs before the loss */
    const early = (g: Graph, side: Set<string>) => {
      const ran = ortOrder(g);
      const loss = ran.findIndex((n) => n.outputs.includes(N.LOSS));
      return ran.slice(0, loss).filter((n) => side.has(n.name));
    };
    const plain = trainStepGraph(c, without);
    const moved = trainStepGraph(c, p);
    // the nodes the pass moves: those it placed before the loss
    const side = new Set(moved.nodes.slice(0, lossAt(moved)).map((n) => n.name).filter((name) => plain.nodes.findIndex((n) => n.name === name) > lossAt(plain)));
    expect(side.size).toBeGreaterThan(0);
    expect(early(plain, side).length).toBeGreaterThan(0);
    expect(early(moved, side)).toEqual([]);
  });
});
