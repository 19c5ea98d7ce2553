import { intRequired, op, str, unsupported } from './types';
import { UNARY, type Unary } from './elementwise';
import { spatial, staticDim } from './shapes';

/**
 * DepthToSpace in DCR mode (the default) and SpaceToDepth, mutual adjoints (both only move values):
 *   DepthToSpace: y[n, c, h*b + p, w*b + q] = x[n, (p*b + q)*C + c, h, w]
 *   SpaceToDepth: y[n, (p*b + q)*C + c, h, w] = x[n, c, h*b + p, w*b + q]
 * so d DepthToSpace = SpaceToDepth(dy) and d SpaceToDepth = DepthToSpace(dy). (WebGPU has no
 * SpaceToDepth kernel: its pipeline rewrites it, src/passes/space-to-depth.ts.)
 */
export const DepthToSpace = op<Unary>({
  inputs: UNARY,
  shape: ([x], attrs) => {
    const b = intRequired('DepthToSpace', attrs, 'blocksize');
    if (str(attrs, 'mode', 'DCR') !== 'DCR') unsupported('DepthToSpace', 'mode', attrs.mode);
    const C = staticDim(x.shape[1], 'DepthToSpace');
    const [H, W] = spatial(x, 'DepthToSpace');
    if (C % (b * b)) throw new Error(`DepthToSpace: ${C} channels is not a multiple of blocksize^2 = ${b * b}`);
    return [{ shape: [x.shape[0], C / (b * b), H * b, W * b], dtype: x.dtype }];
  },
  grad: ({ g, attrs, dy }) => [g.op1('SpaceToDepth', [dy], { blocksize: intRequired('DepthToSpace', attrs, 'blocksize') })],
});

export const SpaceToDepth = op<Unary>({
  inputs: UNARY,
  shape: ([x], attrs) => {
    const b = intRequired('SpaceToDepth', attrs, 'blocksize');
    const C = staticDim(x.shape[1], 'SpaceToDepth');
    const [H, W] = spatial(x, 'SpaceToDepth');
    if (H % b || W % b) throw new Error(`SpaceToDepth: ${H}x${W} is not a multiple of blocksize ${b}`);
    return [{ shape: [x.shape[0], C * b * b, H / b, W / b], dtype: x.dtype }];
  },
  grad: ({ g, attrs, dy }) => [g.op1('DepthToSpace', [dy], { blocksize: intRequired('SpaceToDepth', attrs, 'blocksize') })],
});
