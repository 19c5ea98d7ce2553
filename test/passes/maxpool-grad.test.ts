import * as ort from 'onnxruntime-node';
import { gradients } from '../../src/autodiff';
import { Graph } from '../../src/onnx/graph';
import { sessionFor } from '../../src/onnx/session';
import { maxPoolGradByComparisonPass } from '../../src/passes/maxpool-grad';
import { input } from '../helpers/gradcheck';

/** dx of sum(MaxPool(x) * dy) for a 2x2 stride-2 MaxPool, with or without the pass. */
function poolGrad(shape: number[], rewrite: boolean, attrs: Record<string, number[]> = { kernel_shape: [2, 2], strides: [2, 2] }) {
  const g = new Graph('pool');
  const x = g.input('x', shape);
  const y = g.op('MaxPool', [x], attrs)[0];
  const dy = g.input('dy', y.shape);
  const dx = gradients(g, g.op1('ReduceSum', [g.op1('Mul', [y, dy])], { keepdims: 0 }), [x]).get('x');
  if (!dx) throw new Error('no gradient');
  g.output(dx, 'dx');
  return { g, n: rewrite ? maxPoolGradByComparisonPass.run(g) : 0, dyShape: y.shape as number[] };
}

describe('pass maxpool-grad-by-comparison: MaxUnpool as comparisons (GPU providers)', () => {
  test.each([
    ['random values', (i: number) => input('x', [2, 3, 4, 6], 21).data[i]],
    ['values in {0, 1, 2}: most windows tied', (i: number) => (i * 7 + (i >> 3)) % 3],
    ['all equal', () => 1],
  ])('sends each window\'s dy to the same element as MaxUnpool (equal values; zeros may differ in sign): %s', async (_n, value) => {
    const x = Float32Array.from({ length: 2 * 3 * 4 * 6 }, (_, i) => value(i));
    const dy = Float32Array.from({ length: 2 * 3 * 2 * 3 }, (_, i) => i - 7.5);
    const run = async (rewrite: boolean) => {
      const { g, n } = poolGrad([2, 3, 4, 6], rewrite);
      expect([n, g.opCounts().MaxUnpool ?? 0]).toEqual(rewrite ? [1, 0] : [0, 1]);
      const s = await sessionFor(g);
      return (await s.run({ x: new ort.Tensor('float32', x, [2, 3, 4, 6]), dy: new ort.Tensor('float32', dy, [2, 3, 2, 3]) })).dx.data as Float32Array;
    };
    const [a, b] = [await run(false), await run(true)];
    expect(Array.from(b, (v) => v + 0)).toEqual(Array.from(a, (v) => v + 0));
  });

  test.each([
    ['3x3 windows, stride 3', { kernel_shape: [3, 3], strides: [3, 3] }],
    ['an odd height (the last row is dropped)', { kernel_shape: [2, 2], strides: [2, 2] }],
  ])('leaves other poolings to MaxUnpool: %s', (name, attrs) => {
    const shape = name.startsWith('an odd') ? [1, 2, 5, 6] : [1, 2, 6, 6];
    expect(poolGrad(shape, true, attrs).n).toBe(0);
  });
});
