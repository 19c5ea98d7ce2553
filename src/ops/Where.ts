import type { Value } from '../onnx/graph';
import { op } from './types';
import { broadcast, unbroadcast } from './shapes';

// d where(c, a, b) = (-, where(c, dy, 0), where(c, 0, dy))
export const Where = op<[cond: Value, a: Value, b: Value]>({
  inputs: ['condition', 'X', 'Y'],
  shape: ([c, a, b]) => [{ shape: broadcast(c.shape, broadcast(a.shape, b.shape)), dtype: a.dtype }],
  grad: ({ g, inputs: [c, a, b], dy }) => {
    const zero = g.f32(0);
    return [null, unbroadcast(g, g.op1('Where', [c, dy, zero]), a.shape), unbroadcast(g, g.op1('Where', [c, zero, dy]), b.shape)];
  },
});
