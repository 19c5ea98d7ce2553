/**
 * Worker-thread entry of BatchLoader (compiled to dist/data/worker.js).
 *
 * workerData: the dataset's SharedArrayBuffer-backed `images` / `masks` and `size`, shared, not
 * copied. Messages in: { id, job: CollateJob }. Messages out: { id, image, mask } with both
 * Float32Array buffers transferred (no copy), or { id, error } when the job failed.
 */
import { parentPort, workerData } from 'worker_threads';
import { collate, type CollateJob, type SampleStore } from './collate';

export interface WorkerRequest {
  id: number;
  job: CollateJob;
}

export type WorkerReply =
  | { id: number; image: Float32Array; mask: Float32Array }
  | { id: number; error: string };

if (parentPort) {
  const port = parentPort;
  const store = workerData as SampleStore;
  port.on('message', (msg: WorkerRequest) => {
    try {
      const { image, mask } = collate(store, msg.job);
      const reply: WorkerReply = { id: msg.id, image, mask };
      // collate allocates plain (non-shared) ArrayBuffers, so they can be transferred.
      port.postMessage(reply, [image.buffer as ArrayBuffer, mask.buffer as ArrayBuffer]);
    } catch (e) {
      const reply: WorkerReply = { id: msg.id, error: (e as Error).stack ?? String(e) };
      port.postMessage(reply);
    }
  });
}
