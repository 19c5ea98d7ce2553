import * as ort from 'onnxruntime-node';
import { gradients } from '../../src/autodiff';
import { Graph } from '../../src/onnx/graph';
import { refusedAtRun } from '../../src/onnx/providers';
import { sessionFor } from '../../src/onnx/session';
import { maxPoolGradByComparisonPass } from '../../src/passes/maxpool-grad';
import { maxPoolWithoutIndicesPass } from '../../src/passes/maxpool-indices';
import { input } from '../helpers/gradcheck';

const SHAPE = [2, 3, 4, 6];
const POOL = { kernel_shape: [2, 2], strides: [2, 2] };

/** y = MaxPool(x) and, with `grad`, dx of sum(y * dy) (through MaxUnpool, or comparisons with `byComparison`). */
function poolGraph(o: { grad: boolean; byComparison?: boolean; indicesOut?: boolean }) {
  const g = new Graph('pool');
  const x = g.input('x', SHAPE);
  const [y, idx] = g.op('MaxPool', [x], POOL);
  g.output(g.op1('Relu', [y]), 'y');
  if (o.indicesOut) g.output(idx, 'indices');
  if (o.grad) {
    const dy = g.input('dy', y.shape);
    const dx = gradients(g, g.op1('ReduceSum', [g.op1('Mul', [y, dy])], { keepdims: 0 }), [x]).get('x');
    if (!dx) throw new Error('no gradient');
    g.output(dx, 'dx');
    if (o.byComparison) maxPoolGradByComparisonPass.run(g);
  }
  return g;
}

const pools = (g: Graph) => g.nodes.filter((n) => n.op === 'MaxPool');

async function run(g: Graph): Promise<Record<string, number[]>> {
  const s = await sessionFor(g);
  const x = new ort.Tensor('float32', input('x', SHAPE, 7).data, SHAPE);
  const dy = new ort.Tensor('float32', Float32Array.from({ length: 2 * 3 * 2 * 3 }, (_, i) => i - 7.5), [2, 3, 2, 3]);
  const r = await s.run(s.inputNames.includes('dy') ? { x, dy } : { x });
  return Object.fromEntries(Object.entries(r).map(([k, t]) => [k, Array.from(t.data as Float32Array, (v) => v + 0)]));
}

describe('pass maxpool-without-indices: MaxPool without the Indices nothing reads (WebGPU refuses them)', () => {
  test('fires on a forward MaxPool: one output left, WebGPU no longer refuses it, same y', async () => {
    const before = await run(poolGraph({ grad: false }));
    const g = poolGraph({ grad: false });
    expect(refusedAtRun('webgpu', g)).toHaveLength(1);
    expect(maxPoolWithoutIndicesPass.run(g)).toBe(1);
    expect(pools(g).map((n) => n.outputs.length)).toEqual([1]);
    expect(refusedAtRun('webgpu', g)).toEqual([]);
    expect(await run(g)).toEqual(before);
  });

  test('fires once the gradient reads no Indices (maxpool-grad-by-comparison): same y and dx as MaxUnpool\'s gradient', async () => {
    const reference = await run(poolGraph({ grad: true }));
    const g = poolGraph({ grad: true, byComparison: true });
    expect(maxPoolWithoutIndicesPass.run(g)).toBe(1);
    expect(g.opCounts().MaxUnpool ?? 0).toBe(0);
    expect(refusedAtRun('webgpu', g)).toEqual([]);
    expect(await run(g)).toEqual(reference);
  });

  test('leaves MaxPools whose Indices are read: by MaxUnpool (the CPU gradient) or as a graph output', () => {
    const unpool = poolGraph({ grad: true });
    const out = poolGraph({ grad: false, indicesOut: true });
    expect([maxPoolWithoutIndicesPass.run(unpool), maxPoolWithoutIndicesPass.run(out)]).toEqual([0, 0]);
    expect([...pools(unpool), ...pools(out)].map((n) => n.outputs.length)).toEqual([2, 2]);
    expect(refusedAtRun('webgpu', unpool)).toEqual([expect.stringMatching(/^MaxPool_\d+: MaxPool's Indices output/)]);
  });
});
