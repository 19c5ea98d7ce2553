/**
 * The sweep state file, `<out>/sweep.json` (or `results/sweep.json`; a shard keeps its own
 * `sweep.shard-<i>-of-<n>.json`). It lets a re-run of an interrupted sweep know that it is a resume, so
 * that `--new-dataframe 1` moves the results CSV aside only when a sweep STARTS, and a fresh sweep
 * remembers which of its runs it already (re)started. Written atomically after every change.
 *
 * The "recipe" is what makes two sweeps' runs interchangeable (data, size, width, seed, batch size,
 * lr, augmentation, split). Models, losses and epochs are not part of it: re-running with more
 * combinations or more epochs continues the same sweep.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../util/atomic';
import type { Shard } from './spec';

export interface SweepRecipe {
  data: string;
  imageSize: number;
  width: number;
  seed: number;
  batchSize: number;
  lr: number;
  augment: boolean;
  /** A user split file (path + content hash) or the fractions of the seeded split. */
  split: { file: string; sha256: string } | { fractions: [number, number, number] };
}

export type RunStatus = 'started' | 'done' | 'failed';

export interface SweepState {
  version: 1;
  recipe: SweepRecipe;
  /** Started with --new-dataframe 1: every run trains from scratch (runs not yet 'started' ignore old checkpoints). */
  fresh: boolean;
  status: 'running' | 'complete';
  startedAt: string;
  updatedAt: string;
  epochs: number;
  models: number[];
  losses: number[];
  shard: Shard | null;
  resultsFile: string;
  /** runId -> what this sweep did with it. */
  runs: Record<string, RunStatus>;
  /** runId -> why it failed (e.g. a NaN loss). */
  errors: Record<string, string>;
}

export function splitRecipe(splitFile: string | undefined, fractions: [number, number, number] | undefined): SweepRecipe['split'] {
  if (!splitFile) return { fractions: fractions ?? [0.75, 0.125, 0.125] };
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(splitFile);
  } catch (e) {
    throw new Error(`--split ${splitFile}: cannot read it (${(e as NodeJS.ErrnoException).code ?? e}); check the path, or omit --split to draw a seeded split`);
  }
  return { file: path.resolve(splitFile), sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Keys on which two recipes differ, as "key: old -> new" lines (empty: the same recipe). */
export function recipeDifferences(a: SweepRecipe, b: SweepRecipe): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])] as (keyof SweepRecipe)[];
  return keys
    .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((k) => `${k}: ${JSON.stringify(a[k])} -> ${JSON.stringify(b[k])}`);
}

export function readState(file: string): SweepState | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    const s = JSON.parse(text) as SweepState;
    if (s.version !== 1 || typeof s.recipe !== 'object' || typeof s.runs !== 'object') throw new Error('unexpected layout');
    s.errors ??= {};
    return s;
  } catch (e) {
    throw new Error(
      `sweep state ${file} is unreadable (${(e as Error).message}). It is written atomically, so it was edited by hand or by another tool: ` +
        `restore it, or delete it (the next sweep then starts as new; finished runs are still skipped from their checkpoints).`,
    );
  }
}

export async function writeState(file: string, s: SweepState): Promise<void> {
  s.updatedAt = new Date().toISOString();
  await writeFileAtomic(file, JSON.stringify(s, null, 2) + '\n');
}
