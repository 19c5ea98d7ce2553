import * as ort from 'onnxruntime-node';
import { Graph } from '../../src/onnx/graph';
import { sessionFor } from '../../src/onnx/session';
import { quadrantDilatedConvPass } from '../../src/passes/quadrant-conv';
import { gradCheck, input } from '../helpers/gradcheck';
import { relErr } from '../helpers/compare';

describe('pass quadrant-dilated-conv: UNet_dilate\'s pooling as a 1x1 conv of the quadrants', () => {
  const [N, C, O, H] = [2, 3, 4, 8];
  const feeds = () => Object.fromEntries([input('x', [N, C, H, H + 4], 1), input('w', [O, C, 2, 2], 2, 0.3), input('b', [O], 3)].map((i) => [i.name, new ort.Tensor('float32', i.data, i.shape)]));
  const build = (rewrite: boolean) => {
    const g = new Graph('q');
    g.output(g.op1('Conv', [g.input('x', [N, C, H, H + 4]), g.input('w', [O, C, 2, 2]), g.input('b', [O])], { dilations: [H / 2, (H + 4) / 2] }), 'y');
    return { g, n: rewrite ? quadrantDilatedConvPass.run(g) : 0 };
  };

  test('rewrites the dilated conv (here on a non-square input) and computes what it computes', async () => {
    const sub = build(true);
    expect(sub.n).toBe(1);
    const a = (await (await sessionFor(build(false).g)).run(feeds())).y;
    const b = (await (await sessionFor(sub.g)).run(feeds())).y;
    expect(b.dims).toEqual([N, O, H / 2, (H + 4) / 2]);
    expect(relErr(b.data as Float32Array, a.data as Float32Array)).toBeLessThan(1e-6);
  });

  test.each([
    ['another dilation', { dilations: [2, 2] }],
    ['padding', { dilations: [4, 4], pads: [1, 1, 1, 1] }],
    ['a stride', { dilations: [4, 4], strides: [2, 2] }],
  ])('leaves a near miss alone: %s', (_n, attrs) => {
    const g = new Graph('miss');
    g.output(g.op1('Conv', [g.input('x', [1, 2, 8, 8]), g.input('w', [2, 2, 2, 2])], attrs), 'y');
    expect(quadrantDilatedConvPass.run(g)).toBe(0);
  });

  test.each([[false], [true]])('gradients of the rewritten graph match finite differences (symbolic batch: %s)', async (symbolic) => {
    const r = await gradCheck((g, [x, w, b]) => {
      const y = g.op1('Conv', [x, w, b], { dilations: [4, 4] });
      expect(quadrantDilatedConvPass.run(g)).toBe(1);
      return y;
    }, [input('x', [2, 3, 8, 8], 4), input('w', [4, 3, 2, 2], 5, 0.3), input('b', [4], 6)], symbolic ? { symbolicBatch: ['x'] } : {});
    expect(r.worst).toBeLessThan(2e-3);
  });
});
