/**
 * The finite-difference cases of the op rules, as data: each is a small graph `build(g, inputs)`
 * whose gradient gradCheck compares with central differences. The test files of this folder run them
 * by group; coverage.test.ts builds every case's gradient and fails for any op of the table
 * (src/ops/registry.ts) with a gradient rule that no case exercises.
 */
import type { Build, CheckInput, GradCheckOptions } from '../helpers/gradcheck';
import { gradCheck, input } from '../helpers/gradcheck';
import { seeded, uniform } from '../helpers/random';

export interface FdCase {
  name: string;
  build: Build;
  inputs: CheckInput[];
  opts?: GradCheckOptions;
  /**
   * The rule is known to be wrong on this case, and why: the case runs as test.failing, so it stays
   * visible in every run and fails the day the rule is fixed (then delete this field).
   */
  knownWrong?: string;
}

const TOL = 2e-3;

/** One test per case: the worst relative error of gradCheck's directional derivatives under TOL. */
export function testCases(list: FdCase[]): void {
  for (const c of list) {
    const body = async () => {
      expect((await gradCheck(c.build, c.inputs, c.opts)).worst).toBeLessThan(TOL);
    };
    if (c.knownWrong) test.failing(`${c.name} (KNOWN WRONG, fails until fixed: ${c.knownWrong})`, body);
    else test(c.name, body);
  }
}

const positive = (name: string, shape: number[], seed: number): CheckInput => {
  const n = shape.reduce((a, b) => a * b, 1);
  return { name, shape, data: uniform(seeded(seed), n, 0.5, 2) };
};

/** |x| in [0.5, 2] with random signs: no difference step crosses zero. */
const awayFromZero = (name: string, shape: number[], seed: number): CheckInput => {
  const x = positive(name, shape, seed);
  const r = seeded(seed + 1);
  return { ...x, data: x.data.map((v) => (r() < 0.5 ? -v : v)) };
};

const fine = { eps: 1e-3 };

export const ELEMENTWISE: FdCase[] = [
  ...([['Add', [2, 3, 4], [3, 1]], ['Sub', [2, 3, 4], [4]], ['Mul', [2, 3, 4], [2, 1, 4]]] as const).map(([op, sa, sb]): FdCase => ({
    name: `${op} with broadcasting ${JSON.stringify(sa)} x ${JSON.stringify(sb)}`,
    build: (g, [a, b]) => g.op1(op, [a, b]),
    inputs: [input('a', [...sa], 1), input('b', [...sb], 2)],
  })),
  { name: 'Div with denominators away from zero', build: (g, [x, y]) => g.op1('Div', [x, y]), inputs: [input('a', [2, 3, 4], 1), positive('b', [3, 4], 3)] },
  ...['Relu', 'Sigmoid', 'Tanh', 'Exp', 'Erf', 'Neg', 'Abs', 'Softplus'].map((op): FdCase => ({
    name: op, build: (g, [x]) => g.op1(op, [x]), inputs: [input('x', [2, 3, 5], 4)], opts: fine,
  })),
  ...['Log', 'Sqrt', 'Reciprocal'].map((op): FdCase => ({
    name: `${op} on positive inputs`, build: (g, [v]) => g.op1(op, [v]), inputs: [positive('x', [2, 7], 5)], opts: fine,
  })),
  { name: 'Pow with a constant exponent', build: (g, [v]) => g.op1('Pow', [v, g.f32(3)]), inputs: [positive('x', [6], 6)], opts: fine },
  { name: 'Clip passes the gradient only inside the bounds', build: (g, [v]) => g.op1('Clip', [v, g.f32(-0.5), g.f32(0.7)]), inputs: [input('x', [4, 5], 8)], opts: fine },
  {
    name: 'Where routes the gradient by the condition',
    build: (g, [a, b]) => g.op1('Where', [g.op1('Greater', [a, b]), g.op1('Mul', [a, a]), b]),
    inputs: [input('a', [3, 4], 9), input('b', [3, 4], 10)],
    opts: fine,
  },
  // sign(x) * x = |x|: the whole slope comes through the Mul's x operand, none through Sign
  { name: 'Sign passes no gradient (sign(x) * x, away from zero)', build: (g, [x]) => g.op1('Mul', [g.op1('Sign', [x]), x]), inputs: [awayFromZero('x', [3, 5], 11)], opts: fine },
  { name: 'Cast float to float passes dy through', build: (g, [x]) => g.op1('Cast', [x], { to: 1 }), inputs: [input('x', [2, 3, 4], 12)] },
  { name: 'Identity passes dy through', build: (g, [x]) => g.op1('Identity', [x]), inputs: [input('x', [2, 3, 4], 13)] },
];

export const POOL_RESIZE_NORM: FdCase[] = [
  {
    name: 'MaxPool 2x2 stride 2 routes dy to each window\'s maximum',
    build: (g, [x]) => g.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] })[0],
    inputs: [input('x', [2, 3, 4, 6], 21)],
    opts: fine,
  },
  {
    name: 'nearest upsampling x2',
    build: (g, [x]) => g.op1('Resize', [x, null, g.f32([1, 1, 2, 2])], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }),
    inputs: [input('x', [2, 3, 3, 4], 22)],
  },
  {
    name: 'BatchNorm in training mode (closed form)',
    build: (g, [x, gm, bt]) => g.op('BatchNormTrain', [x, gm, bt], { epsilon: 1e-5 })[0],
    inputs: [input('x', [3, 4, 3, 3], 23), input('gamma', [4], 24), input('beta', [4], 25)],
  },
  {
    name: 'BatchNorm with a symbolic batch counts N*H*W at run time',
    build: (g, [x, gm, bt]) => g.op('BatchNormTrain', [x, gm, bt], { epsilon: 1e-5 })[0],
    inputs: [input('x', [2, 3, 4, 4], 26), input('gamma', [3], 27), input('beta', [3], 28)],
    opts: { symbolicBatch: ['x'] },
  },
  {
    // mean 20, std 0.5: E[x^2] - mean^2 would lose ~7 of float32's 24 bits here
    name: 'BatchNorm on inputs far from zero mean (two-pass variance)',
    build: (g, [v, gm, bt]) => g.op('BatchNormTrain', [v, gm, bt], { epsilon: 1e-5 })[0],
    inputs: [(() => {
      const x = input('x', [2, 3, 4, 4], 29);
      return { ...x, data: x.data.map((v) => 20 + 0.5 * v) };
    })(), input('gamma', [3], 30), input('beta', [3], 31)],
  },
];

export const SHAPE: FdCase[] = [
  { name: 'Concat along channels (skip connections)', build: (g, [a, b]) => g.op1('Concat', [a, b], { axis: 1 }), inputs: [input('a', [2, 2, 3, 3], 29), input('b', [2, 3, 3, 3], 30)] },
  {
    name: 'Slice, Pad, Transpose, Reshape',
    build: (g, [x]) => {
      const s = g.op1('Slice', [x, g.i64([1, 0]), g.i64([3, 4]), g.i64([1, 2])]);
      const p = g.op1('Pad', [s, g.i64([0, 1, 0, 2, 0, 0, 1, 0])], { mode: 'constant' });
      const t = g.op1('Transpose', [p], { perm: [2, 0, 3, 1] });
      return g.op1('Reshape', [t, g.i64([-1, 6])]);
    },
    inputs: [input('x', [2, 4, 5, 3], 31)],
  },
  {
    name: 'ReduceSum and ReduceMean, with and without keepdims',
    build: (g, [x]) => {
      const a = g.op1('ReduceSum', [x, g.i64([1])], { keepdims: 0 });
      const b = g.op1('ReduceMean', [x], { axes: [0, 2], keepdims: 1 });
      return g.op1('Add', [g.op1('Unsqueeze', [a, g.i64([1])]), b]);
    },
    inputs: [input('x', [2, 3, 4], 32)],
  },
  { name: 'Expand sums dy over the broadcast axes', build: (g, [x]) => g.op1('Expand', [x, g.i64([2, 3, 4])]), inputs: [input('x', [3, 1], 34)] },
  { name: 'Squeeze reshapes dy back', build: (g, [x]) => g.op1('Squeeze', [x, g.i64([1, 3])]), inputs: [input('x', [2, 1, 3, 1], 35)] },
  {
    // index 2 twice: both picks must reach row 2
    name: 'Gather of float rows, an index repeated',
    build: (g, [x]) => g.op1('Gather', [x, g.i64([2, 0, 2])], { axis: 0 }),
    inputs: [input('x', [4, 3], 36)],
  },
  {
    name: 'DepthToSpace (blocksize 2) by SpaceToDepth',
    build: (g, [x]) => g.op1('DepthToSpace', [x], { blocksize: 2 }),
    inputs: [input('x', [2, 8, 3, 2], 37)],
  },
  {
    name: 'SpaceToDepth (blocksize 2) by DepthToSpace',
    build: (g, [x]) => g.op1('SpaceToDepth', [x], { blocksize: 2 }),
    inputs: [input('x', [2, 2, 4, 6], 38)],
  },
  {
    name: 'MatMul with a broadcast batch (dB summed over it)',
    build: (g, [a, b]) => g.op1('MatMul', [a, b]),
    inputs: [input('a', [2, 3, 4, 5], 39), input('b', [5, 3], 40)],
  },
];

export const MULTI_OUTPUT: FdCase[] = [
  {
    name: 'Split: outputs no gradient reaches count as zeros',
    build: (g, [x]) => {
      const [a, , c] = g.op('Split', [x, g.i64([1, 2, 1])], { axis: 1 });
      return g.op1('Concat', [c, g.op1('Mul', [a, a])], { axis: 1 });
    },
    inputs: [input('x', [2, 4, 3], 33)],
  },
];

/** Conv cases by the weight-gradient formulation the rule picks (conv-grad.test.ts checks the pick). */
export const CONV: FdCase[] = [
  {
    name: '3x3 conv, padding 1, with bias (dX by flipped-weight Conv; dW by shifted copies, one channel-major product)',
    build: (g, [x, w, b]) => g.op1('Conv', [x, w, b], { pads: [1, 1, 1, 1] }),
    inputs: [input('x', [2, 3, 6, 6], 1), input('w', [4, 3, 3, 3], 2, 0.3), input('b', [4], 3)],
  },
  {
    name: '3x3 conv, padding 1, on a large image (dW by shifted copies, per-image products)',
    build: (g, [x, w]) => g.op1('Conv', [x, w], { pads: [1, 1, 1, 1] }),
    inputs: [input('x', [1, 2, 48, 48], 34), input('w', [2, 2, 3, 3], 35, 0.3)],
  },
  {
    name: '3x3 conv, stride 2, padding 1 (dX by ConvTranspose, dW by im2col)',
    build: (g, [x, w, b]) => g.op1('Conv', [x, w, b], { pads: [1, 1, 1, 1], strides: [2, 2] }),
    inputs: [input('x', [2, 3, 8, 8], 4), input('w', [3, 3, 3, 3], 5, 0.3), input('b', [3], 6)],
  },
  {
    name: '2x2 conv dilated by half the input size, no padding (shifted copies would mostly be zeros: im2col)',
    build: (g, [x, w, b]) => g.op1('Conv', [x, w, b], { dilations: [4, 4] }),
    inputs: [input('x', [2, 3, 8, 8], 7), input('w', [3, 3, 2, 2], 8, 0.3), input('b', [3], 9)],
  },
  {
    name: '2x3 kernel, dilation 2x1, asymmetric padding',
    build: (g, [x, w]) => g.op1('Conv', [x, w], { pads: [0, 2, 1, 0], dilations: [2, 1] }),
    inputs: [input('x', [2, 3, 7, 6], 44), input('w', [2, 3, 2, 3], 45, 0.3)],
  },
  ...([['small image: one channel-major product', [2, 5, 4, 4]], ['large image: per-image products', [1, 3, 48, 48]]] as const).map(([n, xs]): FdCase => ({
    name: `1x1 conv, ${n}`,
    build: (g, [x, w, b]) => g.op1('Conv', [x, w, b]),
    inputs: [input('x', [...xs], 10), input('w', [2, xs[1], 1, 1], 11, 0.3), input('b', [2], 12)],
  })),
  {
    name: '2x2 stride-2 transposed conv (UNet_stride upsampling)',
    build: (g, [x, w, b]) => g.op1('ConvTranspose', [x, w, b], { strides: [2, 2] }),
    inputs: [input('x', [2, 4, 3, 3], 13), input('w', [4, 2, 2, 2], 14, 0.3), input('b', [2], 15)],
  },
  {
    name: '2x2 transposed conv dilated by the input size (UNet_dilate upsampling)',
    build: (g, [x, w, b]) => g.op1('ConvTranspose', [x, w, b], { dilations: [4, 4] }),
    inputs: [input('x', [2, 4, 4, 4], 16), input('w', [4, 2, 2, 2], 17, 0.3), input('b', [2], 18)],
  },
  {
    name: 'depthwise 3x3 conv, padding 1, with bias (group = channels: dX by a depthwise Conv, dW by im2col and a batched MatMul)',
    build: (g, [x, w, b]) => g.op1('Conv', [x, w, b], { pads: [1, 1, 1, 1], group: 4 }),
    inputs: [input('x', [2, 4, 6, 6], 46), input('w', [4, 1, 3, 3], 47, 0.3), input('b', [4], 48)],
  },
  {
    name: 'grouped 3x3 conv, group 2, 2 -> 3 channels per group, dilation 2, padding 2 (EGE-UNet bridge shape)',
    build: (g, [x, w]) => g.op1('Conv', [x, w], { pads: [2, 2, 2, 2], dilations: [2, 2], group: 2 }),
    inputs: [input('x', [2, 4, 7, 7], 49), input('w', [6, 2, 3, 3], 50, 0.3)],
  },
  {
    name: 'grouped 1x1 conv, group 2, 2 -> 4 channels per group (the swap within groups, no flip)',
    build: (g, [x, w, b]) => g.op1('Conv', [x, w, b], { group: 2 }),
    inputs: [input('x', [2, 4, 4, 4], 51), input('w', [8, 2, 1, 1], 52, 0.3), input('b', [8], 53)],
  },
  {
    name: 'grouped 3x3 conv, group 2, stride 2, padding 1 (dX by a grouped ConvTranspose)',
    build: (g, [x, w]) => g.op1('Conv', [x, w], { pads: [1, 1, 1, 1], strides: [2, 2], group: 2 }),
    inputs: [input('x', [2, 4, 7, 7], 54), input('w', [4, 2, 3, 3], 55, 0.3)],
  },
  {
    name: 'grouped 2x2 stride-2 transposed conv, group 2, 2 -> 3 channels per group',
    build: (g, [x, w, b]) => g.op1('ConvTranspose', [x, w, b], { strides: [2, 2], group: 2 }),
    inputs: [input('x', [2, 4, 3, 3], 56), input('w', [4, 3, 2, 2], 57, 0.3), input('b', [6], 58)],
  },
  {
    name: 'a symbolic batch dimension gives the same gradients (depthwise 3x3)',
    build: (g, [x, w]) => g.op1('Conv', [x, w], { pads: [1, 1, 1, 1], group: 2 }),
    inputs: [input('x', [3, 2, 5, 5], 59), input('w', [2, 1, 3, 3], 60, 0.3)],
    opts: { symbolicBatch: ['x'] },
  },
  ...([['3x3', [2, 2, 3, 3], { pads: [1, 1, 1, 1] }], ['dilated 2x2', [2, 2, 2, 2], { dilations: [2, 2] }]] as [string, number[], Record<string, number[]>][]).map(([n, ws, attrs]): FdCase => ({
    name: `a symbolic batch dimension gives the same gradients (${n})`,
    build: (g, [x, w]) => g.op1('Conv', [x, w], attrs),
    inputs: [input('x', [3, 2, 5, 5], 19), input('w', ws, 20, 0.3)],
    opts: { symbolicBatch: ['x'] },
  })),
];

export const ALL_CASES: FdCase[] = [...ELEMENTWISE, ...POOL_RESIZE_NORM, ...SHAPE, ...MULTI_OUTPUT, ...CONV];
