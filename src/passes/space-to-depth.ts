/**
 * Rewrite (after gradients, WebGPU): SpaceToDepth (DepthToSpace's gradient) as Reshape
 * [N, C, H/b, b, W/b, b] -> Transpose (0, 3, 5, 1, 2, 4) -> Reshape [N, b*b*C, H/b, W/b]: the same
 * data move (channel (p*b + q)*C + c), in ops the WebGPU provider implements (it has no
 * SpaceToDepth, src/onnx/providers.ts). Only there: on the CPU this form took 2.7-4.5x the op's
 * time at every UNet shape (npm run bench:ops -- --suite s2d --threads 1).
 */
import type { Graph, Value } from '../onnx/graph';
import { spatial, staticDim } from '../ops/shapes';
import { intRequired } from '../ops/types';
import { operands, rewritePass, type RewriteRule } from './pass';

function spaceToDepthByTranspose(g: Graph, x: Value, b: number): Value {
  const C = staticDim(x.shape[1], 'SpaceToDepth');
  const [H, W] = spatial(x, 'SpaceToDepth');
  const split = g.op1('Reshape', [x, g.i64([0, C, H / b, b, W / b, b])]);
  const moved = g.op1('Transpose', [split], { perm: [0, 3, 5, 1, 2, 4] });
  return g.op1('Reshape', [moved, g.i64([0, b * b * C, H / b, W / b])]);
}

const spaceToDepthByTransposeRule: RewriteRule<{ x: Value; b: number }> = {
  name: 'space-to-depth-by-transpose',
  pattern: (g, n) => {
    const [x] = n.op === 'SpaceToDepth' ? operands(g, n) : [];
    return x ? { x, b: intRequired('SpaceToDepth', n.attrs, 'blocksize') } : undefined;
  },
  check: (_g, { x, b }) => x.shape.length === 4 && x.shape.slice(1).every((d) => typeof d === 'number') && Number(x.shape[2]) % b === 0 && Number(x.shape[3]) % b === 0,
  replacement: (g, { x, b }) => [spaceToDepthByTranspose(g, x, b)],
};

export const spaceToDepthByTransposePass = rewritePass(spaceToDepthByTransposeRule);
