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
  grad: ({ g, attrs, dOut: [dy] }) => [g.op1('SpaceToDepth', [dy!], { blocksize: attrs.blocksize })],
};

export const SpaceToDepth: OpDef = {
  shape: ([x], attrs) => {
    const b = attrs.blocksize as number;
    const [N, C, H, W] = x!.shape as [number | string, number, number, number];
    if (H % b || W % b) throw new Error(`SpaceToDepth: ${H}x${W} is not a multiple of blocksize ${b}`);
    return [{ shape: [N, C * b * b, H / b, W / b], dtype: x!.dtype }];
  },
  grad: ({ g, attrs, dOut: [dy] }) => [g.op1('DepthToSpace', [dy!], { blocksize: attrs.blocksize })],
};
