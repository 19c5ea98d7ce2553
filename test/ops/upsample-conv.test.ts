import * as ort from 'onnxruntime-node';
import { Graph } from '../../src/onnx/graph';
import { sessionFor } from '../../src/onnx/run';
import { upsampleConv3x3 } from '../../src/ops/upsample-conv';
import { gradCheck, input } from '../helpers/gradcheck';

const RESIZE = { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' };

describe('3x3 conv of a nearest 2x upsampling, in sub-pixel form', () => {
  test('equals Resize then Conv (padding 1) at full resolution', async () => {
    const g = new Graph('subpixel');
    const [N, C, O, H, W] = [2, 3, 4, 5, 6];
    const x = g.input('x', [N, C, H, W]);
    const w = g.input('w', [O, C, 3, 3]);
    const b = g.input('b', [O]);
    const ref = g.op1('Conv', [g.op1('Resize', [x, null, g.f32([1, 1, 2, 2])], RESIZE), w, b], { pads: [1, 1, 1, 1] });
    g.output(ref, 'ref');
    g.output(upsampleConv3x3(g, x, w, b), 'sub');
    const s = await sessionFor(g);
    const feeds = Object.fromEntries([input('x', [N, C, H, W], 1), input('w', [O, C, 3, 3], 2, 0.3), input('b', [O], 3)].map((i) => [i.name, new ort.Tensor('float32', i.data, i.shape)]));
    const r = await s.run(feeds);
    expect(r.sub.dims).toEqual([N, O, 2 * H, 2 * W]);
    const a = r.ref.data as Float32Array;
    const c = r.sub.data as Float32Array;
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - c[i]) / (1 + Math.abs(a[i])));
    expect(worst).toBeLessThan(1e-5);
  });

  test('gradients (x, w, b) match finite differences', async () => {
    const r = await gradCheck((g, [x, w, b]) => upsampleConv3x3(g, x, w, b), [
      input('x', [2, 3, 3, 4], 4), input('w', [2, 3, 3, 3], 5, 0.3), input('b', [2], 6),
    ]);
    expect(r.worst).toBeLessThan(2e-3);
  });

  test('with a symbolic batch dimension', async () => {
    const r = await gradCheck((g, [x, w]) => upsampleConv3x3(g, x, w, null), [input('x', [3, 2, 4, 4], 7), input('w', [2, 2, 3, 3], 8, 0.3)], { symbolicBatch: ['x'] });
    expect(r.worst).toBeLessThan(2e-3);
  });
});
