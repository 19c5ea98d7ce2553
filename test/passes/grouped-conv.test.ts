/**
 * Every rewrite that matches a Conv is written for dense (group 1) convolutions: each must fire on
 * the dense form of its pattern and leave the same Conv with `group` > 1 (depthwise here) alone.
 */
import { Graph, type Value } from '../../src/onnx/graph';
import { convTailPadPass } from '../../src/passes/conv-tail-pad';
import { foldBatchNormPass } from '../../src/passes/fold-batchnorm';
import { nchwcPass } from '../../src/passes/nchwc';
import type { Pass } from '../../src/passes/pass';
import { quadrantDilatedConvPass } from '../../src/passes/quadrant-conv';
import { subpixelUpconvPass } from '../../src/passes/subpixel-upconv';

const C = 16;
const ones = (n: number) => new Float32Array(n).fill(0.5);

/** The pass's pattern around one Conv of C -> C channels, dense (group 1) or depthwise (group C). */
type Build = (g: Graph, x: Value, group: number) => Value;

const conv = (g: Graph, x: Value, group: number, k: number, attrs: Record<string, number[]>): Value => {
  const w = g.input('w', [C, C / group, k, k]);
  return g.op1('Conv', [x, w], { ...attrs, ...(group > 1 ? { group } : {}) });
};

const CASES: [string, Pass, Build][] = [
  ['subpixel-upconv', subpixelUpconvPass, (g, x, group) => {
    const up = g.op1('Resize', [x, null, g.f32([1, 1, 2, 2])], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
    return conv(g, up, group, 3, { pads: [1, 1, 1, 1] });
  }],
  ['quadrant-dilated-conv', quadrantDilatedConvPass, (g, x, group) => conv(g, x, group, 2, { dilations: [4, 4] })],
  ['nchwc', nchwcPass(8, () => true), (g, x, group) => conv(g, x, group, 3, { pads: [1, 1, 1, 1] })],
  ['conv-tail-pad', convTailPadPass, (g, x, group) => conv(g, x, group, 1, { pads: [0, 0, 1, 1] })],
  ['fold-batchnorm', foldBatchNormPass, (g, x, group) => {
    const w = g.constant({ dtype: 'float32', shape: [C, C / group, 3, 3], data: ones((C * C * 9) / group) });
    const y = g.op1('Conv', [x, w], { pads: [1, 1, 1, 1], ...(group > 1 ? { group } : {}) });
    const v = () => g.constant({ dtype: 'float32', shape: [C], data: ones(C) });
    return g.op1('BatchNormalization', [y, v(), v(), v(), v()], { epsilon: 1e-5 });
  }],
];

describe('Conv rewrites leave grouped convolutions alone', () => {
  test.each(CASES)('%s fires on the dense Conv and not on the depthwise one', (_name, pass, build) => {
    const counts = [1, C].map((group) => {
      const g = new Graph('t');
      g.output(build(g, g.input('x', [2, C, 8, 8]), group), 'y');
      const convs = () => g.nodes.filter((n) => n.op === 'Conv' && n.attrs.group === C).length;
      const before = convs();
      const n = pass.run(g);
      // a pass that did not fire left the grouped Conv itself in place
      if (group > 1) expect(convs()).toBe(before);
      return n;
    });
    expect(counts).toEqual([1, 0]);
  });
});
