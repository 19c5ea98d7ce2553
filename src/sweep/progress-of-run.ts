/**
 * How far a run got, read from the JSON header of its last.ckpt only (the weights and AdamW moments that
 * follow it are not read), so checking 60 runs of a full-width sweep costs kilobytes, not gigabytes.
 *
 * last.ckpt is a safetensors file (see src/train/checkpoint.ts): 8 bytes little-endian header length,
 * then a JSON header whose "__metadata__" holds "trainer" = JSON of the trainer state
 * {epoch, history: [{epoch, trainLoss, validLoss, iou, lr, seconds, imagesPerSecond}], ...}.
 */
import * as fs from 'fs';
import type { EpochRecord } from '../train/trainer';

export interface RunProgress {
  /** Last finished epoch (0 if none recorded). */
  epoch: number;
  history: EpochRecord[];
  /** The dataset spec the run was trained on, as recorded by the trainer. */
  dataset?: string;
  /** Early stopping ended the run: it is finished whatever its epoch count. */
  stoppedEarly: boolean;
}

/** null when the file does not exist; throws (naming the file) when it exists but cannot be read. */
export function readRunProgress(file: string): RunProgress | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`cannot open ${file} (${(e as NodeJS.ErrnoException).code ?? e}); check its permissions, or delete it to retrain that run from scratch`);
  }
  const fail = (why: string) =>
    new Error(`${file}: ${why}; the checkpoint is damaged. Delete it (that run then trains from scratch) and re-run the sweep.`);
  try {
    const head = Buffer.alloc(8);
    if (fs.readSync(fd, head, 0, 8, 0) !== 8) throw fail('shorter than 8 bytes');
    const n = Number(head.readBigUInt64LE(0));
    if (!(n > 0 && n < 100_000_000)) throw fail(`header length ${n} is not plausible`);
    const buf = Buffer.alloc(n);
    if (fs.readSync(fd, buf, 0, n, 8) !== n) throw fail('truncated header');
    let header: { __metadata__?: Record<string, string> };
    try {
      header = JSON.parse(buf.toString('utf8'));
    } catch (e) {
      throw fail(`header is not JSON (${(e as Error).message})`);
    }
    const trainer = header.__metadata__?.trainer;
    if (trainer === undefined) return { epoch: 0, history: [], stoppedEarly: false };
    let ts: { epoch?: number; history?: EpochRecord[]; dataset?: string; stoppedEarly?: unknown };
    try {
      ts = JSON.parse(trainer);
    } catch (e) {
      throw fail(`"trainer" metadata is not JSON (${(e as Error).message})`);
    }
    return { epoch: Number.isInteger(ts.epoch) ? ts.epoch! : 0, history: Array.isArray(ts.history) ? ts.history : [], dataset: ts.dataset, stoppedEarly: !!ts.stoppedEarly };
  } finally {
    fs.closeSync(fd);
  }
}
