import type { Graph, Value } from '../onnx/graph';
import type { OpDef } from './types';
import { unsupported } from './types';

/**
 * DepthToSpace in DCR mode (the default) and SpaceToDepth, mutual adjoints (both only move values):
 *   DepthToSpace: y[n, c, h*b + p, w*b + q] = x[n, (p*b + q)*C + c, h, w]
 *   SpaceToDepth: y[n, (p*b + q)*C + c, h, w] = x[n, c, h*b + p, w*b + q]
 * so d DepthToSpace = SpaceToDepth(dy) and d SpaceToDepth = DepthToSpace(dy).
 */
export const DepthToSpace: OpDef = {
  shape: ([x], attrs) => {
    const b = attrs.blocksize as number;
    if ((attrs.mode ?? 'DCR') !== 'DCR') unsupported('DepthToSpace', 'mode', attrs.mode);
    const [N, C, H, W] = x!.shape as [number | string, number, number, number];
    if (C % (b * b)) throw new Error(`DepthToSpace: ${C} channels is not a multiple of blocksize^2 = ${b * b}`);
    return [{ shape: [N, C / (b * b), H * b, W * b], dtype: x!.dtype }];
  },
  grad: ({ g, attrs, dOut: [dy] }) => [spaceToDepth(g, dy!, attrs.blocksize as number)],
};

/**
 * SpaceToDepth by default as Reshape [N, C, H/b, b, W/b, b] -> Transpose (0, 3, 5, 1, 2, 4) ->
 * Reshape [N, b*b*C, H/b, W/b]: the same data move (channel (p*b + q)*C + c), in ops the WebGPU
 * provider implements (it has no SpaceToDepth, src/onnx/providers.ts); lowering spaceToDepth 'op'
 * emits the op itself.
 */
function spaceToDepth(g: Graph, x: Value, b: number): Value {
  if (g.lowering.spaceToDepth === 'op') return g.op1('SpaceToDepth', [x], { blocksize: b });
  const [, C, H, W] = x.shape as [number | string, number, number, number];
  if (H % b || W % b) throw new Error(`SpaceToDepth: ${H}x${W} is not a multiple of blocksize ${b}`);
  const split = g.op1('Reshape', [x, g.i64([0, C, H / b, b, W / b, b])]);
  const moved = g.op1('Transpose', [split], { perm: [0, 3, 5, 1, 2, 4] });
  return g.op1('Reshape', [moved, g.i64([0, b * b * C, H / b, W / b])]);
}

export const SpaceToDepth: OpDef = {
  shape: ([x], attrs) => {
    const b = attrs.blocksize as number;
    const [N, C, H, W] = x!.shape as [number | string, number, number, number];
    if (H % b || W % b) throw new Error(`SpaceToDepth: ${H}x${W} is not a multiple of blocksize ${b}`);
    return [{ shape: [N, C * b * b, H / b, W / b], dtype: x!.dtype }];
  },
  grad: ({ g, attrs, dOut: [dy] }) => [g.op1('DepthToSpace', [dy!], { blocksize: attrs.blocksize })],
};
