import * as ort from 'onnxruntime-node';
import { Graph, type Value } from '../../src/onnx/graph';
import { sessionFor } from '../../src/onnx/session';
import { foldBatchNormPass } from '../../src/passes/fold-batchnorm';
import { relErr } from '../helpers/compare';
import { randn, seeded, uniform } from '../helpers/random';

/**
 * The pass only matches constants (an exported model's weights), so there is no gradient to check:
 * the folded graph has no trainable input. BN statistics are drawn far from the identity (variances
 * 1e-4..2, so eps = 1e-5 matters by up to 5%; means and betas of the outputs' size), so a fold that
 * dropped eps, the mean or the conv's bias would miss by percent, not by float rounding.
 */
describe('pass fold-batchnorm: eval-mode BatchNorm of a Conv folded into the Conv', () => {
  const [N, C, O, H] = [2, 3, 5, 6];
  const rand = seeded(11);
  const w = randn(rand, O * C * 9, 0.5);
  const b = randn(rand, O);
  const gamma = uniform(rand, O, 0.5, 1.5);
  const beta = randn(rand, O);
  const mean = randn(rand, O, 2);
  const variance = Float32Array.from([1e-4, 3e-3, 0.05, 0.7, 2]);
  const x = randn(seeded(12), N * C * H * H);
  const f32 = (g: Graph, data: Float32Array, shape: number[]) => g.constant({ dtype: 'float32', shape, data });

  /** x -> Conv (constant w, b unless `noBias`) -> BatchNormalization (constant statistics) -> y. */
  const build = (o: { noBias?: boolean; inputs?: ('w' | 'mean')[]; extraUse?: 'node' | 'output' } = {}) => {
    const g = new Graph('fold');
    const xv = g.input('x', [N, C, H, H]);
    const wv = o.inputs?.includes('w') ? g.input('w', [O, C, 3, 3]) : f32(g, w, [O, C, 3, 3]);
    const conv = g.op1('Conv', o.noBias ? [xv, wv] : [xv, wv, f32(g, b, [O])], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
    const mv: Value = o.inputs?.includes('mean') ? g.input('mean', [O]) : f32(g, mean, [O]);
    g.output(g.op1('BatchNormalization', [conv, f32(g, gamma, [O]), f32(g, beta, [O]), mv, f32(g, variance, [O])], { epsilon: 1e-5 }), 'y');
    if (o.extraUse === 'node') g.output(g.op1('Relu', [conv]), 'r');
    if (o.extraUse === 'output') g.output(conv, 'c');
    return g;
  };
  const run = async (g: Graph) => {
    const feeds: Record<string, ort.Tensor> = { x: new ort.Tensor('float32', x, [N, C, H, H]) };
    if (g.inputs.some((v) => v.name === 'w')) feeds.w = new ort.Tensor('float32', w, [O, C, 3, 3]);
    if (g.inputs.some((v) => v.name === 'mean')) feeds.mean = new ort.Tensor('float32', mean, [O]);
    return (await (await sessionFor(g)).run(feeds)).y.data as Float32Array;
  };

  test.each([['with a bias', false], ['without a bias', true]])('folds the BatchNorm of a conv %s and computes what the two ops computed', async (_n, noBias) => {
    const before = await run(build({ noBias }));
    const g = build({ noBias });
    expect(foldBatchNormPass.run(g)).toBe(1);
    g.prune();
    expect(g.opCounts()).toEqual({ Conv: 1 });
    // float32 rounding: 27-term dot products and one rounding per folded weight, ~sqrt(27) 2^-24 = 3e-7
    expect(relErr(await run(g), before)).toBeLessThan(1e-6);
  });

  test.each([
    ['the conv\'s output has another reader', { extraUse: 'node' as const }],
    ['the conv\'s output is also a graph output', { extraUse: 'output' as const }],
    ['the running mean is a graph input', { inputs: ['mean' as const] }],
    ['the conv\'s weight is a graph input', { inputs: ['w' as const] }],
  ])('leaves a near miss alone: %s', (_n, o) => {
    const g = build(o);
    expect(foldBatchNormPass.run(g)).toBe(0);
    expect(g.opCounts().BatchNormalization).toBe(1);
  });

  test('leaves a BatchNorm that follows another op alone', () => {
    const g = new Graph('relu-bn');
    const r = g.op1('Relu', [g.input('x', [N, O, H, H])]);
    g.output(g.op1('BatchNormalization', [r, f32(g, gamma, [O]), f32(g, beta, [O]), f32(g, mean, [O]), f32(g, variance, [O])], { epsilon: 1e-5 }), 'y');
    expect(foldBatchNormPass.run(g)).toBe(0);
  });
});
