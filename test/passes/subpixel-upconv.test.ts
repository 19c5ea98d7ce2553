import * as ort from 'onnxruntime-node';
import { Graph, type Value } from '../../src/onnx/graph';
import { sessionFor } from '../../src/onnx/session';
import { subpixelUpconvPass } from '../../src/passes/subpixel-upconv';
import { gradCheck, input } from '../helpers/gradcheck';
import { relErr } from '../helpers/compare';

const RESIZE = { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' };

/** conv(upsample(x)) as the models emit it. */
function upConv(g: Graph, x: Value, w: Value, b: Value | null, o: { scale?: number; pads?: number[]; resize?: Record<string, string> } = {}): Value {
  const s = o.scale ?? 2;
  const up = g.op1('Resize', [x, null, g.f32([1, 1, s, s])], o.resize ?? RESIZE);
  return g.op1('Conv', b ? [up, w, b] : [up, w], { pads: o.pads ?? [1, 1, 1, 1] });
}

describe('pass subpixel-upconv: a 3x3 conv of a nearest 2x upsampling, on the low-resolution input', () => {
  const [N, C, O, H, W] = [2, 3, 4, 5, 6];
  const feeds = () => Object.fromEntries([input('x', [N, C, H, W], 1), input('w', [O, C, 3, 3], 2, 0.3), input('b', [O], 3)].map((i) => [i.name, new ort.Tensor('float32', i.data, i.shape)]));
  const build = (rewrite: boolean) => {
    const g = new Graph('subpixel');
    g.output(upConv(g, g.input('x', [N, C, H, W]), g.input('w', [O, C, 3, 3]), g.input('b', [O])), 'y');
    const n = rewrite ? subpixelUpconvPass.run(g) : 0;
    return { g, n };
  };

  test('rewrites the pattern once and computes what Resize then Conv compute', async () => {
    const ref = build(false);
    const sub = build(true);
    expect(sub.n).toBe(1);
    const a = (await (await sessionFor(ref.g)).run(feeds())).y;
    const b = (await (await sessionFor(sub.g)).run(feeds())).y;
    expect(b.dims).toEqual([N, O, 2 * H, 2 * W]);
    expect(sub.g.opCounts().Resize ?? 0).toBe(0);
    expect(relErr(b.data as Float32Array, a.data as Float32Array)).toBeLessThan(1e-6);
  });

  test.each([
    ['padding 0', { pads: [0, 0, 0, 0] }],
    ['upsampling by 3', { scale: 3 }],
    ['half-pixel coordinates', { resize: { ...RESIZE, coordinate_transformation_mode: 'half_pixel' } }],
  ])('leaves a near miss alone: %s', (_n, o) => {
    const g = new Graph('miss');
    g.output(upConv(g, g.input('x', [1, 2, 4, 4]), g.input('w', [2, 2, 3, 3]), null, o), 'y');
    expect(subpixelUpconvPass.run(g)).toBe(0);
  });

  test('gradients (x, w, b) of the rewritten graph match finite differences', async () => {
    const r = await gradCheck((g, [x, w, b]) => {
      const y = upConv(g, x, w, b);
      expect(subpixelUpconvPass.run(g)).toBe(1);
      return y;
    }, [input('x', [2, 3, 3, 4], 4), input('w', [2, 3, 3, 3], 5, 0.3), input('b', [2], 6)]);
    expect(r.worst).toBeLessThan(2e-3);
  });

  test('with a symbolic batch dimension', async () => {
    const r = await gradCheck((g, [x, w]) => {
      const y = upConv(g, x, w, null);
      expect(subpixelUpconvPass.run(g)).toBe(1);
      return y;
    }, [input('x', [3, 2, 4, 4], 7), input('w', [2, 2, 3, 3], 8, 0.3)], { symbolicBatch: ['x'] });
    expect(r.worst).toBeLessThan(2e-3);
  });
});
