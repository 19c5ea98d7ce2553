import * as ort from 'onnxruntime-node';
import { gradients } from '../../src/autodiff';
import { Graph } from '../../src/onnx/graph';
import { sessionFor } from '../../src/onnx/session';
import { gradCheck, input } from '../helpers/gradcheck';

const TOL = 2e-3;

describe('pooling, resizing and normalisation gradients match finite differences', () => {
  test('MaxPool 2x2 stride 2 routes dy to each window\'s maximum', async () => {
    const r = await gradCheck((g, [x]) => g.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] })[0], [input('x', [2, 3, 4, 6], 21)], { eps: 1e-3 });
    expect(r.worst).toBeLessThan(TOL);
  });

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

  test('nearest upsampling x2', async () => {
    const r = await gradCheck((g, [x]) => g.op1('Resize', [x, null, g.f32([1, 1, 2, 2])], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }), [input('x', [2, 3, 3, 4], 22)]);
    expect(r.worst).toBeLessThan(TOL);
  });

  test('BatchNorm in training mode (closed form)', async () => {
    const r = await gradCheck((g, [x, gm, bt]) => g.op('BatchNormTrain', [x, gm, bt], { epsilon: 1e-5 })[0], [input('x', [3, 4, 3, 3], 23), input('gamma', [4], 24), input('beta', [4], 25)]);
    expect(r.worst).toBeLessThan(TOL);
  });

  test('BatchNorm with a symbolic batch counts N*H*W at run time', async () => {
    const r = await gradCheck((g, [x, gm, bt]) => g.op('BatchNormTrain', [x, gm, bt], { epsilon: 1e-5 })[0], [input('x', [2, 3, 4, 4], 26), input('gamma', [3], 27), input('beta', [3], 28)], { symbolicBatch: ['x'] });
    expect(r.worst).toBeLessThan(TOL);
  });

  test('BatchNorm on inputs far from zero mean (two-pass variance)', async () => {
    // mean 20, std 0.5: E[x^2] - mean^2 would lose ~7 of float32's 24 bits here
    const x = input('x', [2, 3, 4, 4], 29);
    for (let i = 0; i < x.data.length; i++) x.data[i] = 20 + 0.5 * x.data[i];
    const r = await gradCheck((g, [v, gm, bt]) => g.op('BatchNormTrain', [v, gm, bt], { epsilon: 1e-5 })[0], [x, input('gamma', [3], 30), input('beta', [3], 31)]);
    expect(r.worst).toBeLessThan(TOL);
  });
});

describe('shape op gradients match finite differences', () => {
  test('Concat along channels (skip connections)', async () => {
    const r = await gradCheck((g, [a, b]) => g.op1('Concat', [a, b], { axis: 1 }), [input('a', [2, 2, 3, 3], 29), input('b', [2, 3, 3, 3], 30)]);
    expect(r.worst).toBeLessThan(TOL);
  });
  test('Slice, Pad, Transpose, Reshape', async () => {
    const r = await gradCheck((g, [x]) => {
      const s = g.op1('Slice', [x, g.i64([1, 0]), g.i64([3, 4]), g.i64([1, 2])]);
      const p = g.op1('Pad', [s, g.i64([0, 1, 0, 2, 0, 0, 1, 0])], { mode: 'constant' });
      const t = g.op1('Transpose', [p], { perm: [2, 0, 3, 1] });
      return g.op1('Reshape', [t, g.i64([-1, 6])]);
    }, [input('x', [2, 4, 5, 3], 31)]);
    expect(r.worst).toBeLessThan(TOL);
  });
  test('ReduceSum and ReduceMean, with and without keepdims', async () => {
    const r = await gradCheck((g, [x]) => {
      const a = g.op1('ReduceSum', [x, g.i64([1])], { keepdims: 0 });
      const b = g.op1('ReduceMean', [x], { axes: [0, 2], keepdims: 1 });
      return g.op1('Add', [g.op1('Unsqueeze', [a, g.i64([1])]), b]);
    }, [input('x', [2, 3, 4], 32)]);
    expect(r.worst).toBeLessThan(TOL);
  });
});

describe('ops with several differentiable outputs', () => {
  test('Split: outputs no gradient reaches count as zeros', async () => {
    const r = await gradCheck((g, [x]) => {
      const [a, , c] = g.op('Split', [x, g.i64([1, 2, 1])], { axis: 1 });
      return g.op1('Concat', [c, g.op1('Mul', [a, a])], { axis: 1 });
    }, [input('x', [2, 4, 3], 33)]);
    expect(r.worst).toBeLessThan(TOL);
  });
});
