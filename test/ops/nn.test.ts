import * as ort from 'onnxruntime-node';
import { gradients } from '../../src/autodiff';
import { Graph } from '../../src/onnx/graph';
import { sessionFor } from '../../src/onnx/run';
import { gradCheck, input } from '../helpers/gradcheck';

const TOL = 2e-3;

describe('convolution gradients match finite differences', () => {
  test('3x3 conv, padding 1, dX weight flipped by a Slice with step -1 (lowering.flipSwap slice)', async () => {
    const r = await gradCheck((g, [x, w]) => {
      g.lowering = { flipSwap: 'slice' };
      return g.op1('Conv', [x, w], { pads: [1, 1, 1, 1] });
    }, [input('x', [2, 3, 5, 5], 60), input('w', [4, 3, 3, 3], 61, 0.3)]);
    expect(r.worst).toBeLessThan(TOL);
  });

  test('3x3 conv, padding 1, with bias (dX by flipped-weight Conv)', async () => {
    const r = await gradCheck((g, [x, w, b]) => g.op1('Conv', [x, w, b], { pads: [1, 1, 1, 1] }), [
      input('x', [2, 3, 6, 6], 1), input('w', [4, 3, 3, 3], 2, 0.3), input('b', [4], 3),
    ]);
    expect(r.worst).toBeLessThan(TOL);
  });

  test('3x3 conv, stride 2, padding 1 (dX by ConvTranspose)', async () => {
    const r = await gradCheck((g, [x, w, b]) => g.op1('Conv', [x, w, b], { pads: [1, 1, 1, 1], strides: [2, 2] }), [
      input('x', [2, 3, 8, 8], 4), input('w', [3, 3, 3, 3], 5, 0.3), input('b', [3], 6),
    ]);
    expect(r.worst).toBeLessThan(TOL);
  });

  test('2x2 conv dilated by half the input size, no padding (UNet_dilate pooling)', async () => {
    const r = await gradCheck((g, [x, w, b]) => g.op1('Conv', [x, w, b], { dilations: [4, 4] }), [
      input('x', [2, 3, 8, 8], 7), input('w', [3, 3, 2, 2], 8, 0.3), input('b', [3], 9),
    ]);
    expect(r.worst).toBeLessThan(TOL);
  });

  test('1x1 conv', async () => {
    const r = await gradCheck((g, [x, w, b]) => g.op1('Conv', [x, w, b]), [
      input('x', [2, 5, 4, 4], 10), input('w', [1, 5, 1, 1], 11, 0.3), input('b', [1], 12),
    ]);
    expect(r.worst).toBeLessThan(TOL);
  });

  test('2x2 stride-2 transposed conv (UNet_stride upsampling)', async () => {
    const r = await gradCheck((g, [x, w, b]) => g.op1('ConvTranspose', [x, w, b], { strides: [2, 2] }), [
      input('x', [2, 4, 3, 3], 13), input('w', [4, 2, 2, 2], 14, 0.3), input('b', [2], 15),
    ]);
    expect(r.worst).toBeLessThan(TOL);
  });

  test('2x2 transposed conv dilated by the input size (UNet_dilate upsampling)', async () => {
    const r = await gradCheck((g, [x, w, b]) => g.op1('ConvTranspose', [x, w, b], { dilations: [4, 4] }), [
      input('x', [2, 4, 4, 4], 16), input('w', [4, 2, 2, 2], 17, 0.3), input('b', [2], 18),
    ]);
    expect(r.worst).toBeLessThan(TOL);
  });

  test('a symbolic batch dimension gives the same gradients', async () => {
    const r = await gradCheck((g, [x, w]) => g.op1('Conv', [x, w], { pads: [1, 1, 1, 1] }), [
      input('x', [3, 2, 5, 5], 19), input('w', [2, 2, 3, 3], 20, 0.3),
    ], { symbolicBatch: ['x'] });
    expect(r.worst).toBeLessThan(TOL);
  });
});

describe('pooling, resizing and normalisation gradients match finite differences', () => {
  test('MaxPool 2x2 stride 2 routes dy to each window\'s maximum', async () => {
    const r = await gradCheck((g, [x]) => g.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] })[0], [input('x', [2, 3, 4, 6], 21)], { eps: 1e-3 });
    expect(r.worst).toBeLessThan(TOL);
  });

  test('MaxPool\'s gradient by comparisons sends a tied window\'s dy to its first maximum, as MaxUnpool does', async () => {
    // values in {0, 1, 2}: most 2x2 windows hold tied maxima
    const x = Float32Array.from({ length: 2 * 3 * 4 * 6 }, (_, i) => (i * 7 + (i >> 3)) % 3);
    const dy = Float32Array.from({ length: 2 * 3 * 2 * 3 }, (_, i) => i + 1);
    const run = async (maxPoolGrad: 'mask' | 'unpool') => {
      const g = new Graph('ties');
      g.lowering = { maxPoolGrad };
      const xi = g.input('x', [2, 3, 4, 6]);
      const y = g.op('MaxPool', [xi], { kernel_shape: [2, 2], strides: [2, 2] })[0];
      const loss = g.op1('ReduceSum', [g.op1('Mul', [y, g.f32(dy, [2, 3, 2, 3])])], { keepdims: 0 });
      g.output(gradients(g, loss, [xi]).get('x')!, 'dx');
      const s = await sessionFor(g);
      return (await s.run({ x: new ort.Tensor('float32', x, [2, 3, 4, 6]) })).dx.data as Float32Array;
    };
    const mask = await run('mask');
    expect(Array.from(mask)).toEqual(Array.from(await run('unpool')));
    // each window passes its dy on exactly once
    expect(mask.reduce((a, v) => a + v, 0)).toBe(dy.reduce((a, v) => a + v, 0));
  });

  test('nearest upsampling x2', async () => {
    const r = await gradCheck((g, [x]) => g.op1('Resize', [x, null, g.f32([1, 1, 2, 2])], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }), [input('x', [2, 3, 3, 4], 22)]);
    expect(r.worst).toBeLessThan(TOL);
  });

  test.each(['fused', 'elementwise'] as const)('BatchNorm in training mode (closed form), %s lowering', async (bn) => {
    const r = await gradCheck((g, [x, gm, bt]) => {
      g.lowering = { batchNorm: bn };
      return g.op('BatchNormTrain', [x, gm, bt], { epsilon: 1e-5 })[0];
    }, [input('x', [3, 4, 3, 3], 23), input('gamma', [4], 24), input('beta', [4], 25)]);
    expect(r.worst).toBeLessThan(TOL);
  });

  test.each(['fused', 'elementwise'] as const)('BatchNorm with a symbolic batch counts N*H*W at run time, %s lowering', async (bn) => {
    const r = await gradCheck((g, [x, gm, bt]) => {
      g.lowering = { batchNorm: bn };
      return g.op('BatchNormTrain', [x, gm, bt], { epsilon: 1e-5 })[0];
    }, [input('x', [2, 3, 4, 4], 26), input('gamma', [3], 27), input('beta', [3], 28)], { symbolicBatch: ['x'] });
    expect(r.worst).toBeLessThan(TOL);
  });

  test.each(['fused', 'elementwise'] as const)('BatchNorm on inputs far from zero mean (two-pass variance), %s lowering', async (bn) => {
    // mean 20, std 0.5: E[x^2] - mean^2 would lose ~7 of float32's 24 bits here
    const x = input('x', [2, 3, 4, 4], 29);
    for (let i = 0; i < x.data.length; i++) x.data[i] = 20 + 0.5 * x.data[i];
    const r = await gradCheck((g, [v, gm, bt]) => {
      g.lowering = { batchNorm: bn };
      return g.op('BatchNormTrain', [v, gm, bt], { epsilon: 1e-5 })[0];
    }, [x, input('gamma', [3], 30), input('beta', [3], 31)]);
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
