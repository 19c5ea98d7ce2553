/** onnxruntime-node helpers: sessions from serialised graphs, and typed feeds. */
import * as ort from 'onnxruntime-node';
import { Graph } from './graph';
import { serialize } from './proto';

export type Feeds = Record<string, ort.Tensor>;

export function tensor(data: Float32Array | number[], dims: number[]): ort.Tensor {
  return new ort.Tensor('float32', data instanceof Float32Array ? data : Float32Array.from(data), dims);
}

/**
 * A session for a serialised graph. Defaults: all graph optimisations; no memory pattern (onnxruntime
 * then plans one block per run from the first run's allocations, which for the training graphs
 * raised peak RSS 1.6-1.8x, e.g. 3.8 against 2.4 GiB for UNet at 256 px, width 1, batch 2, at equal
 * speed). Options given override these.
 */
export async function sessionFromBytes(bytes: Uint8Array, options: ort.InferenceSession.SessionOptions = {}): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', enableMemPattern: false, ...options });
}

/** Lower, prune, serialise and open a session for a graph (tests and tools). */
export async function sessionFor(g: Graph, options: ort.InferenceSession.SessionOptions = {}): Promise<ort.InferenceSession> {
  g.lower();
  g.prune();
  return sessionFromBytes(serialize(g), options);
}

/**
 * Session options for the training graphs on CPU: `threads` intra-op threads (one per core), no
 * inter-op pool (sequential execution: parallel branches would only fight for the same cores), no
 * memory pattern (see sessionFromBytes). Measured and left as they are: optimisation level
 * 'extended' instead of 'all' (no faster), the CPU arena off (~1.4x slower, no less RSS), intra-op
 * spinning off (~6% slower on an idle machine).
 */
export function trainSessionOptions(threads = 2): ort.InferenceSession.SessionOptions {
  return { graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', enableMemPattern: false };
}

let blockSize: Promise<number> | undefined;

/**
 * The NCHWc block size of this CPU in onnxruntime (16 with AVX-512, 8 with AVX2; 0 where the
 * com.microsoft.nchwc kernels are missing): ReorderInput pads 4 channels up to one block.
 */
export function nchwcBlockSize(): Promise<number> {
  blockSize ??= (async () => {
    try {
      const g = new Graph('nchwc_probe');
      // the blocked tensor's shape, read as data (its declared shape would not be known here)
      g.output(g.op1('Shape', [g.op1('ReorderInput', [g.input('x', [1, 4, 1, 1])], { _block: 4 })]), 'shape');
      const s = await sessionFromBytes(serialize(g));
      const r = await s.run({ x: new ort.Tensor('float32', new Float32Array(4), [1, 4, 1, 1]) });
      await s.release();
      return Number((r.shape.data as BigInt64Array)[1]);
    } catch {
      return 0;
    }
  })();
  return blockSize;
}
