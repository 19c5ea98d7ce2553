/** onnxruntime-node helpers: sessions from serialised graphs, and typed feeds. */
import * as ort from 'onnxruntime-node';
import type { Graph } from './graph';
import { serialize } from './proto';

export type Feeds = Record<string, ort.Tensor>;

export function tensor(data: Float32Array | number[], dims: number[]): ort.Tensor {
  return new ort.Tensor('float32', data instanceof Float32Array ? data : Float32Array.from(data), dims);
}

export async function sessionFromBytes(bytes: Uint8Array, options: ort.InferenceSession.SessionOptions = {}): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', ...options });
}

/** Lower, prune, serialise and open a session for a graph (tests and tools). */
export async function sessionFor(g: Graph, options: ort.InferenceSession.SessionOptions = {}): Promise<ort.InferenceSession> {
  g.lower();
  g.prune();
  return sessionFromBytes(serialize(g), options);
}
