/**
 * The page's WebGPU workarounds (src/export/webgpu-workarounds.ts) on onnxruntime-node: each fires on
 * its pattern, leaves near misses alone and computes what the original graph computed. That they
 * make the WebGPU provider right is test/export/web.test.ts's part (headless Chromium).
 */
import * as ort from 'onnxruntime-node';
import { exportGraph } from '../../src/export/graph';
import { dropUnreadPoolIndices, padWholeInputConvs } from '../../src/export/webgpu-workarounds';
import { initialCheckpoint, parameterSpecs, resolveConfig, trainStepGraph } from '../../src/graphs';
import { Graph } from '../../src/onnx/graph';
import { sessionFor } from '../../src/onnx/session';
import { relErr } from '../helpers/compare';
import { input } from '../helpers/gradcheck';

describe('dropUnreadPoolIndices', () => {
  test('an exported UNet declares no MaxPool Indices; a CPU train step, whose MaxUnpool reads them, keeps every one', () => {
    const c = resolveConfig({ model: 1, loss: 2, imageSize: 32, width: 1 / 16 });
    const ck = initialCheckpoint(c, parameterSpecs(c));
    const weights = new Map(Object.entries(ck.params).filter(([, t]) => t.data instanceof Float32Array).map(([n, t]) => [n, t.data as Float32Array]));
    const exported = exportGraph(c, weights);
    const pools = exported.nodes.filter((n) => n.op === 'MaxPool');
    expect(pools.length).toBe(4);
    expect(pools.every((n) => n.outputs.length === 1)).toBe(true);

    const step = trainStepGraph(c, { device: 'cpu' });
    const before = step.nodes.filter((n) => n.op === 'MaxPool' && n.outputs.length === 2).length;
    expect(before).toBe(4);
    expect(dropUnreadPoolIndices(step)).toBe(0);
  });
});

describe('padWholeInputConvs: a Conv whose kernel covers its input, with end padding', () => {
  const build = (hw: number, pads: number[]) => {
    const g = new Graph('whole');
    g.output(g.op1('Conv', [g.input('x', [2, 3, hw, hw]), g.input('w', [4, 3, 2, 2]), g.input('b', [4])], { kernel_shape: [2, 2], pads }), 'y');
    return g;
  };
  const feeds = (hw: number) => Object.fromEntries([input('x', [2, 3, hw, hw], 1), input('w', [4, 3, 2, 2], 2, 0.5), input('b', [4], 3)].map((i) => [i.name, new ort.Tensor('float32', i.data, i.shape)]));

  test.each([[[0, 0, 1, 1]], [[0, 0, 0, 1]], [[1, 1, 1, 1]]])('pads %j on a 2 x 2 input: rewritten, same values', async (pads) => {
    const ref = build(2, pads);
    const fixed = build(2, pads);
    expect(padWholeInputConvs(fixed)).toBe(1);
    const conv = fixed.nodes.find((n) => n.op === 'Conv')!;
    expect((conv.attrs.pads as number[]).slice(0, 2)).toEqual([pads[0] + 1, pads[1] + 1]);
    const a = (await (await sessionFor(ref)).run(feeds(2))).y;
    const b = (await (await sessionFor(fixed)).run(feeds(2))).y;
    expect(b.dims).toEqual(a.dims);
    expect(relErr(b.data as Float32Array, a.data as Float32Array)).toBeLessThan(1e-6);
  });

  test.each([
    ['a 4 x 4 input', 4, [0, 0, 1, 1]],
    ['begin padding only', 2, [1, 1, 0, 0]],
    ['no padding', 2, [0, 0, 0, 0]],
  ])('leaves %s alone', (_n, hw, pads) => {
    expect(padWholeInputConvs(build(hw as number, pads as number[]))).toBe(0);
  });
});
