import * as ort from 'onnxruntime-node';
import { gradients } from '../../src/autodiff';
import { Graph } from '../../src/onnx/graph';
import { sessionFor } from '../../src/onnx/session';
import { MULTI_OUTPUT, POOL_RESIZE_NORM, SHAPE, testCases } from './fd-cases';

describe('pooling, resizing and normalisation gradients match finite differences', () => {
  testCases(POOL_RESIZE_NORM);

  test('MaxPool\'s gradient is a MaxUnpool to each window\'s first maximum: ties pass dy on once', async () => {
    // values in {0, 1, 2}: most 2x2 windows hold tied maxima
    const x = Float32Array.from({ length: 2 * 3 * 4 * 6 }, (_, i) => (i * 7 + (i >> 3)) % 3);
    const dy = Float32Array.from({ length: 2 * 3 * 2 * 3 }, (_, i) => i + 1);
    const g = new Graph('ties');
    const xi = g.input('x', [2, 3, 4, 6]);
    const y = g.op('MaxPool', [xi], { kernel_shape: [2, 2], strides: [2, 2] })[0];
    const loss = g.op1('ReduceSum', [g.op1('Mul', [y, g.f32(dy, [2, 3, 2, 3])])], { keepdims: 0 });
    g.output(gradients(g, loss, [xi]).get('x') ?? g.f32(NaN), 'dx');
    expect(g.opCounts().MaxUnpool).toBe(1);
    const s = await sessionFor(g);
    const dx = (await s.run({ x: new ort.Tensor('float32', x, [2, 3, 4, 6]) })).dx.data as Float32Array;
    // each window passes its dy on exactly once, to its first maximum in row-major order
    expect(dx.reduce((a, v) => a + v, 0)).toBe(dy.reduce((a, v) => a + v, 0));
    for (let n = 0; n < 6; n++) {
      for (let i = 0; i < 2; i++) {
        for (let j = 0; j < 3; j++) {
          const at = [0, 1, 6, 7].map((o) => n * 24 + i * 12 + j * 2 + o);
          const first = at.reduce((b, k) => (x[k] > x[b] ? k : b), at[0]);
          expect(at.map((k) => dx[k])).toEqual(at.map((k) => (k === first ? dy[n * 6 + i * 3 + j] : 0)));
        }
      }
    }
  });
});

describe('shape op gradients match finite differences', () => {
  testCases(SHAPE);
});

describe('ops with several differentiable outputs', () => {
  testCases(MULTI_OUTPUT);
});
