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
import { normaliseData, type RunSettings } from '../train/recipe';
import { writeFileAtomic } from '../util/atomic';
import type { Shard } from './spec';
import { parseJson, readTextIfExists } from '../util/json';

/** What every run of the sweep shares: its settings less model, loss and epochs (recipe.ts). */
export type SweepRecipe = Omit<RunSettings, 'model' | 'loss' | 'epochs' | 'epochsFrom'>;

export type RunStatus = 'started' | 'done' | 'failed';

export interface SweepState {
  version: 2;
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

/** Keys on which two recipes differ, as "key: old -> new" lines (empty: the same recipe). */
export function recipeDifferences(a: SweepRecipe, b: SweepRecipe): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])] as (keyof SweepRecipe)[];
  return keys
    .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((k) => `${k}: ${JSON.stringify(a[k])} -> ${JSON.stringify(b[k])}`);
}

export function readState(file: string): SweepState | null {
  const text = readTextIfExists(file);
  if (text === null) return null;
  try {
    const s = parseJson(text, file) as SweepState;
    if (![1, 2].includes(s.version as number) || typeof s.recipe !== 'object' || typeof s.runs !== 'object') throw new Error('unexpected layout');
    s.errors ??= {};
    return (s.version as number) === 1 ? upgrade(s) : s;
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

/**
 * A sweep state of melseg before recipes: its runs used what is now the melseg recipe's plateau
 * schedule and augmentation, with `augment` a boolean and the data as given.
 */
function upgrade(s: SweepState): SweepState {
  const r = s.recipe as unknown as Record<string, unknown>;
  const recipe = {
    recipe: 'melseg',
    ...r,
    data: normaliseData(String(r.data)),
    schedule: 'plateau',
    warmupEpochs: 0,
    earlyStop: 0,
    augment: r.augment === false ? 'none' : 'cached',
    augmentOff: [],
  } as unknown as SweepRecipe;
  return { ...s, version: 2, recipe };
}
