/**
 * The layers EGE-UNet adds to the builder, on values: GELU against known values of x Phi(x), the
 * norms' statistics, and the align-corners interpolation matrices. Their gradients come from the
 * ops' rules (finite-difference cases in test/ops) and are checked whole against PyTorch in
 * test/reference.test.ts (model 4).
 */
import * as ort from 'onnxruntime-node';
import { alignCornersMatrix, ModelBuilder } from '../../src/models/builder';
import { Graph } from '../../src/onnx/graph';
import { sessionFor } from '../../src/onnx/session';
import { randn, seeded } from '../helpers/random';

async function run(build: (mb: ModelBuilder, x: ReturnType<Graph['input']>) => ReturnType<Graph['input']>, shape: number[], data: Float32Array, params: Record<string, Float32Array> = {}) {
  const g = new Graph('t');
  const mb = new ModelBuilder(g, 'train');
  const x = g.input('x', shape);
  g.output(build(mb, x), 'y');
  const feeds: Record<string, ort.Tensor> = { x: new ort.Tensor('float32', data, shape) };
  for (const p of mb.params) feeds[p.name] = new ort.Tensor('float32', params[p.name] ?? new Float32Array(p.shape.reduce((a, b) => a * b, 1)).fill(p.init === 'ones' ? 1 : 0), p.shape);
  const r = await (await sessionFor(g)).run(feeds);
  return Array.from(r.y.data as Float32Array);
}

describe('EGE-UNet layers', () => {
  test('GELU is exact: x Phi(x) at -2, -1, 0, 1, 2 (Phi the normal CDF)', async () => {
    const y = await run((mb, x) => mb.gelu(x), [5], Float32Array.of(-2, -1, 0, 1, 2));
    const want = [-0.0455002638963584, -0.15865525393145707, 0, 0.8413447460685429, 1.9544997361036416];
    y.forEach((v, i) => expect(v).toBeCloseTo(want[i], 6));
  });

  test('GroupNorm(2, 4) gives each group of 2 channels mean 0 and biased variance 1 per image', async () => {
    const [N, C, H, W] = [2, 4, 3, 3];
    const data = randn(seeded(3), N * C * H * W, 3).map((v, i) => v + (i % 7));
    const y = await run((mb, x) => mb.groupNorm('gn', x, 2, C), [N, C, H, W], data);
    const per = (C / 2) * H * W;
    for (let k = 0; k < N * 2; k++) {
      const grp = y.slice(k * per, (k + 1) * per);
      const mean = grp.reduce((a, b) => a + b, 0) / per;
      const variance = grp.reduce((a, b) => a + (b - mean) ** 2, 0) / per;
      expect(mean).toBeCloseTo(0, 5);
      expect(variance).toBeCloseTo(1, 3); // eps 1e-5 against a variance of ~9
    }
  });

  test('channel LayerNorm normalises each pixel over the channels, then weight and bias per channel', async () => {
    const [C, H, W] = [3, 2, 2];
    const data = randn(seeded(4), C * H * W, 2);
    const weight = Float32Array.of(1, 2, 3);
    const bias = Float32Array.of(0, -1, 1);
    const y = await run((mb, x) => mb.layerNorm('ln', x, C), [1, C, H, W], data, { 'ln.weight': weight, 'ln.bias': bias });
    for (let p = 0; p < H * W; p++) {
      const v = [0, 1, 2].map((c) => data[c * H * W + p]);
      const m = v.reduce((a, b) => a + b, 0) / C;
      const s = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / C + 1e-6);
      [0, 1, 2].forEach((c) => expect(y[c * H * W + p]).toBeCloseTo(weight[c] * ((v[c] - m) / s) + bias[c], 5));
    }
  });

  test('align-corners interpolation keeps the corners and spaces the rest evenly', () => {
    // 2 -> 4: positions 0, 1/3, 2/3, 1
    expect(Array.from(alignCornersMatrix(2, 4)).map((v) => +v.toFixed(6))).toEqual([1, 0, 0.666667, 0.333333, 0.333333, 0.666667, 0, 1]);
    // 8 -> 1 reads the first input; 3 -> 3 is the identity
    expect(Array.from(alignCornersMatrix(8, 1))).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(alignCornersMatrix(3, 3))).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  });

  test('resizeBilinear 2x2 -> 3x3 interpolates rows then columns', async () => {
    const y = await run((mb, x) => mb.resizeBilinear(x, [3, 3]), [1, 1, 2, 2], Float32Array.of(0, 2, 4, 6));
    expect(y.map((v) => +v.toFixed(5))).toEqual([0, 1, 2, 2, 3, 4, 4, 5, 6]);
  });
});

describe('BatchNorm in training mode', () => {
  test("the running variance's count N*H*W reads the batch size from the image input, not from the activation", () => {
    // Shape(x) would keep the activation x alive until the running-statistics update, which
    // onnxruntime runs among a train step's last nodes (README "Speed and memory": 0.3 GiB at 256 px)
    const g = new Graph('bn');
    const mb = new ModelBuilder(g, 'train');
    const image = ModelBuilder.imageInput(g, 8);
    const x = mb.conv('c', image, 3, 4);
    mb.batchNorm('bn', x, 4);
    const shapes = g.nodes.filter((n) => n.op === 'Shape');
    expect(shapes.map((n) => n.inputs[0])).toEqual([image.name]);
    const update = mb.bnUpdates.find((u) => u.name === 'bn.running_var');
    expect(update).toBeDefined();
  });
});
