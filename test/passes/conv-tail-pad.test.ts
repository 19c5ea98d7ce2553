import * as ort from 'onnxruntime-node';
import { gradients } from '../../src/autodiff';
import { Graph } from '../../src/onnx/graph';
import { refusedAtRun } from '../../src/onnx/providers';
import { sessionFor } from '../../src/onnx/session';
import { convTailPadPass } from '../../src/passes/conv-tail-pad';
import { input } from '../helpers/gradcheck';

/** y = Conv(x, w, b) on x [2, 3, H, H] and the gradients of sum(y * dy) for x, w and b. */
function convGraph(H: number, k: number, attrs: Record<string, number[]>) {
  const g = new Graph('conv');
  const x = g.input('x', [2, 3, H, H]);
  const w = g.input('w', [4, 3, k, k]);
  const b = g.input('b', [4]);
  const y = g.op1('Conv', [x, w, b], { kernel_shape: [k, k], ...attrs });
  const dy = g.input('dy', y.shape);
  const d = gradients(g, g.op1('ReduceSum', [g.op1('Mul', [y, dy])], { keepdims: 0 }), [x, w, b]);
  g.output(y, 'y');
  for (const v of ['x', 'w', 'b']) g.output(d.get(v)!, `d${v}`);
  return g;
}

async function run(g: Graph): Promise<Record<string, number[]>> {
  const s = await sessionFor(g);
  const feeds: Record<string, ort.Tensor> = {};
  for (const [i, v] of g.inputs.entries()) feeds[v.name] = new ort.Tensor('float32', input(v.name, v.shape as number[], 30 + i).data, v.shape as number[]);
  const r = await s.run(feeds);
  return Object.fromEntries(Object.entries(r).map(([k, t]) => [k, Array.from(t.data as Float32Array)]));
}

/** the forward Conv's rewrite count (the gradient's Convs are other shapes) */
const forwardConvs = (g: Graph) => g.nodes.filter((n) => n.op === 'Conv' && n.inputs[0] !== 'x').length;

describe('pass conv-tail-pad: trailing pads of a Conv on WebGPU\'s MatMul shortcut as an explicit Pad', () => {
  test.each([
    ['a 2x2 kernel over a 2x2 input, pads [0, 0, 1, 1] (the up-convolution at UNet\'s bottleneck)', 2, 2, { pads: [0, 0, 1, 1] }],
    ['a 1x1 kernel, stride 1, pads [0, 0, 1, 0]', 5, 1, { pads: [0, 0, 1, 0] }],
  ])('fires on %s: WebGPU no longer miscomputes it, same values and gradients', async (_n, H, k, attrs) => {
    const reference = await run(convGraph(H, k, attrs));
    const g = convGraph(H, k, attrs);
    expect(refusedAtRun('webgpu', g).some((r) => /Conv_\d+: a Conv on the MatMul shortcut/.test(r))).toBe(true);
    expect(convTailPadPass.run(g)).toBeGreaterThanOrEqual(1);
    expect(refusedAtRun('webgpu', g)).toEqual([]);
    const out = await run(g);
    for (const key of Object.keys(reference)) expect([key, out[key].map((v, i) => Math.abs(v - reference[key][i]) <= 1e-6 * (1 + Math.abs(reference[key][i])))]).toEqual([key, reference[key].map(() => true)]);
  });

  test.each([
    ['the kernel smaller than the input (the provider\'s im2col path pads correctly)', 4, 2, { pads: [0, 0, 1, 1] }],
    ['leading pads (the shortcut is not taken)', 2, 2, { pads: [1, 1, 1, 1] }],
    ['no pads', 2, 2, {}],
    ['a 1x1 kernel with stride 2', 5, 1, { pads: [0, 0, 1, 1], strides: [2, 2] }],
  ])('leaves %s', (_n, H, k, attrs) => {
    const g = convGraph(H, k, attrs);
    const before = forwardConvs(g);
    expect(convTailPadPass.run(g)).toBe(0);
    expect(forwardConvs(g)).toBe(before);
  });
});
