import * as ort from 'onnxruntime-node';
import { Graph, type Value } from '../../src/onnx/graph';
import { sessionFor } from '../../src/onnx/run';
import { pixelShuffleConvTranspose, quadrantConv, quadrantConvTranspose } from '../../src/ops/quadrant-conv';
import { gradCheck, input } from '../helpers/gradcheck';

type Form = (g: Graph, x: Value, w: Value, b: Value | null) => Value;

/** [name, x shape, w shape, the op it replaces (attrs), the replacement] */
const CASES: [string, number[], number[], string, Record<string, number[]>, Form][] = [
  ['dilated 2x2 pooling conv as a quadrant 1x1 conv', [2, 3, 8, 8], [4, 3, 2, 2], 'Conv', { dilations: [4, 4] }, quadrantConv],
  ['dilated 2x2 ConvTranspose as a 1x1 conv + quadrant move', [2, 4, 4, 4], [4, 3, 2, 2], 'ConvTranspose', { dilations: [4, 4] }, quadrantConvTranspose],
  ['stride-2 2x2 ConvTranspose as a 1x1 conv + pixel shuffle', [2, 4, 3, 5], [4, 3, 2, 2], 'ConvTranspose', { strides: [2, 2] }, pixelShuffleConvTranspose],
];

describe('2x2 layers as one 1x1 convolution and a data move', () => {
  test.each(CASES)('%s: equals the op', async (_n, xs, ws, op, attrs, form) => {
    const g = new Graph('q');
    const x = g.input('x', xs);
    const w = g.input('w', ws);
    const b = g.input('b', [op === 'Conv' ? ws[0] : ws[1]]);
    g.output(g.op1(op, [x, w, b], attrs), 'ref');
    g.output(form(g, x, w, b), 'out');
    const s = await sessionFor(g);
    const feeds = Object.fromEntries([input('x', xs, 1), input('w', ws, 2, 0.3), input('b', [op === 'Conv' ? ws[0] : ws[1]], 3)].map((i) => [i.name, new ort.Tensor('float32', i.data, i.shape)]));
    const r = await s.run(feeds);
    expect(r.out.dims).toEqual(r.ref.dims);
    const [a, c] = [r.ref.data as Float32Array, r.out.data as Float32Array];
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - c[i]) / (1 + Math.abs(a[i])));
    expect(worst).toBeLessThan(1e-5);
  });

  test.each(CASES)('%s: gradients match finite differences', async (_n, xs, ws, op, _attrs, form) => {
    const r = await gradCheck((g, [x, w, b]) => form(g, x, w, b), [input('x', xs, 4), input('w', ws, 5, 0.3), input('b', [op === 'Conv' ? ws[0] : ws[1]], 6)]);
    expect(r.worst).toBeLessThan(2e-3);
  });

  test.each(CASES)('%s: with a symbolic batch dimension', async (_n, xs, ws, _op, _attrs, form) => {
    const r = await gradCheck((g, [x, w]) => form(g, x, w, null), [input('x', xs, 7), input('w', ws, 8, 0.3)], { symbolicBatch: ['x'] });
    expect(r.worst).toBeLessThan(2e-3);
  });
});
