/**
 * How far a run got, read from the header of its last.ckpt only (readCheckpointHeader: the weights and
 * AdamW moments that follow it are not read), so checking 60 runs of a full-width sweep costs
 * kilobytes, not gigabytes. The trainer state is read as the trainer reads it (trainerStateOf).
 */
import * as fs from 'fs';
import { readCheckpointHeader } from '../checkpoint/checkpoint';
import { EpochRecord, trainerStateOf } from '../train/trainer';

export interface RunProgress {
  /** Last finished epoch (0 if none recorded). */
  epoch: number;
  history: EpochRecord[];
  /** The dataset the run was trained on, as recorded by the trainer. */
  dataset?: string;
  /** Early stopping ended the run: it is finished whatever its epoch count. */
  stoppedEarly: boolean;
}

/** null when the file does not exist; throws (naming the file and the fix) when it cannot be read. */
export function readRunProgress(file: string): RunProgress | null {
  if (!fs.existsSync(file)) return null;
  let raw: unknown;
  try {
    raw = readCheckpointHeader(file).trainerState;
  } catch (e) {
    throw new Error(`${(e as Error).message}. The run's last.ckpt is damaged: move it aside (that run then trains from scratch) and re-run the sweep.`);
  }
  if (raw === undefined) return { epoch: 0, history: [], stoppedEarly: false };
  const ts = trainerStateOf(raw);
  return { epoch: ts.epoch, history: ts.history, dataset: ts.dataset, stoppedEarly: !!ts.stoppedEarly };
}
