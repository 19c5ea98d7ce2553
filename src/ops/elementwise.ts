/** Shape rule shared by the broadcasting elementwise ops. */
import type { Attrs, Value } from '../onnx/graph';
import type { OutInfo } from './types';
import { broadcast } from './shapes';

export function broadcastShape(inputs: (Value | undefined)[], _attrs?: Attrs): OutInfo[] {
  const [a, b] = inputs as Value[];
  return [{ shape: broadcast(a.shape, b.shape), dtype: a.dtype }];
}

export function sameShape(inputs: (Value | undefined)[]): OutInfo[] {
  const x = inputs[0] as Value;
  return [{ shape: [...x.shape], dtype: x.dtype }];
}

export function boolBroadcast(inputs: (Value | undefined)[]): OutInfo[] {
  const [a, b] = inputs as Value[];
  return [{ shape: broadcast(a.shape, b.shape), dtype: 'bool' }];
}
