/** Shape rules shared by the elementwise ops. */
import type { Value } from '../onnx/graph';
import type { OutInfo } from './types';
import { broadcast } from './shapes';

export type Unary = [x: Value];
export type Binary = [a: Value, b: Value];
export const UNARY = ['X'] as const;
export const BINARY = ['A', 'B'] as const;

export function broadcastShape([a, b]: Binary): OutInfo[] {
  return [{ shape: broadcast(a.shape, b.shape), dtype: a.dtype }];
}

export function sameShape([x]: Unary): OutInfo[] {
  return [{ shape: [...x.shape], dtype: x.dtype }];
}

export function boolBroadcast([a, b]: Binary): OutInfo[] {
  return [{ shape: broadcast(a.shape, b.shape), dtype: 'bool' }];
}
