/**
 * Train / validation / test splits: drawn deterministically from a seed, or read from a JSON file
 * `{"train": [...], "valid": [...], "test": [...]}` of dataset ids.
 */
import { readFileSync } from 'fs';
import { writeFileAtomic } from '../util/atomic';
import { parseJson } from '../util/json';
import { Rng, STREAM } from './rng';

export interface Split {
  train: string[];
  valid: string[];
  test: string[];
}

export interface SplitOptions {
  seed: number;
  /** Fractions of train, valid, test; non-negative, summing to 1 (the recipes' default: src/train/recipe.ts). */
  fractions: [number, number, number];
}

const PARTS = ['train', 'valid', 'test'] as const;

/**
 * Shuffles the ids (sorted first, so the input order does not matter) with Rng.derive(seed,
 * STREAM.split) and cuts them into parts of round(N * fraction) ids; the test part takes the
 * remainder, so e.g. 200 ids give 150 / 25 / 25. Each part is returned sorted.
 */
export function makeSplit(ids: readonly string[], opts: SplitOptions): Split {
  const fr = opts.fractions;
  const sum = fr[0] + fr[1] + fr[2];
  if (fr.some((f) => !(f >= 0)) || Math.abs(sum - 1) > 1e-6) {
    throw new Error(`makeSplit: fractions must be three non-negative numbers summing to 1, found [${fr.join(', ')}]`);
  }
  const unique = [...new Set(ids)].sort();
  if (unique.length !== ids.length) throw new Error('makeSplit: ids contain duplicates; expected unique dataset ids');
  const shuffled = [...unique];
  Rng.derive(opts.seed, STREAM.split).shuffleInPlace(shuffled);
  const n = shuffled.length;
  const nTrain = Math.min(n, Math.round(n * fr[0]));
  const nValid = Math.min(n - nTrain, Math.round(n * fr[1]));
  const nTest = fr[2] === 0 ? 0 : n - nTrain - nValid;
  // With fr[2] = 0, rounding leftovers go to train so that no id is silently dropped.
  const trainEnd = fr[2] === 0 ? n - nValid : nTrain;
  const sorted = (a: string[]): string[] => a.sort();
  return {
    train: sorted(shuffled.slice(0, trainEnd)),
    valid: sorted(shuffled.slice(trainEnd, trainEnd + nValid)),
    test: sorted(shuffled.slice(trainEnd + nValid, trainEnd + nValid + nTest)),
  };
}

/** Fold `index` (1-based) of `count` in a cross-validation. */
export interface Fold {
  index: number;
  count: number;
}

/**
 * Cross-validation fold of a split: train and valid pooled (sorted, shuffled with
 * Rng.derive(seed, STREAM.fold)) and cut into `count` parts whose sizes differ by at most one; part
 * `index` validates, the others train. The test part is left as it is, so the K fold models of one
 * seed never see it and can be scored on it as an ensemble.
 */
export function foldSplit(split: Split, fold: Fold, seed: number): Split {
  const pool = [...split.train, ...split.valid].sort();
  Rng.derive(seed, STREAM.fold).shuffleInPlace(pool);
  const start = (k: number) => Math.round((k * pool.length) / fold.count);
  const lo = start(fold.index - 1);
  const hi = start(fold.index);
  return { train: [...pool.slice(0, lo), ...pool.slice(hi)].sort(), valid: pool.slice(lo, hi).sort(), test: [...split.test] };
}

/** Where a run's split comes from: a split file, or the fractions of the seeded split. */
export type SplitSource = { file: string } | { fractions: [number, number, number] };

/** A run's split of `ids`: the split file's lists or the seeded split, then fold I of K of it when given. */
export function planSplit(ids: readonly string[], source: SplitSource, seed: number, fold?: Fold): Split {
  const base = 'file' in source ? loadSplit(source.file, ids) : makeSplit(ids, { seed, fractions: source.fractions });
  return fold ? foldSplit(base, fold, seed) : base;
}

/** Reads a split file and checks that it is well-formed and names only ids of the dataset. */
export function loadSplit(file: string, ids: readonly string[]): Split {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`Cannot read split file ${file}: ${(e as Error).message}. Fix: check the path, or omit it to draw a split from the seed.`);
  }
  const json = parseJson(text, `Split file ${file}`, 'expected {"train": [...], "valid": [...], "test": [...]} of id strings. Fix: regenerate the split file, or omit --split-file to draw a split from the seed.');
  const obj = json as Record<string, unknown>;
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new Error(`Split file ${file}: expected an object {"train": [...], "valid": [...], "test": [...]}, found ${Array.isArray(json) ? 'an array' : typeof json}`);
  }
  const split: Split = { train: [], valid: [], test: [] };
  for (const part of PARTS) {
    const v = obj[part] ?? [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
      throw new Error(`Split file ${file}: "${part}" must be an array of id strings, found ${JSON.stringify(v).slice(0, 80)}`);
    }
    split[part] = v as string[];
  }
  const extra = Object.keys(obj).filter((k) => !(PARTS as readonly string[]).includes(k));
  if (extra.length) {
    throw new Error(`Split file ${file}: unknown keys ${extra.map((k) => `"${k}"`).join(', ')}; expected only "train", "valid", "test"`);
  }
  const known = new Set(ids);
  const unknown = PARTS.flatMap((p) => split[p].filter((id) => !known.has(id)));
  if (unknown.length) {
    const list = unknown.slice(0, 20).join(', ') + (unknown.length > 20 ? `, ... (${unknown.length} in all)` : '');
    throw new Error(
      `Split file ${file} names ${unknown.length} id(s) that are not in the dataset: ${list}. ` +
        'Fix: regenerate the split for this dataset, or load the dataset it was made for.',
    );
  }
  const seen = new Map<string, string>();
  for (const p of PARTS) {
    for (const id of split[p]) {
      const prev = seen.get(id);
      if (prev) throw new Error(`Split file ${file}: id ${id} appears in both "${prev}" and "${p}"; expected each id in one part at most`);
      seen.set(id, p);
    }
  }
  return split;
}

/** Writes the split as pretty JSON, atomically and verified (src/util/atomic.ts). */
export async function saveSplit(file: string, split: Split): Promise<void> {
  const json = JSON.stringify({ train: split.train, valid: split.valid, test: split.test }, null, 2) + '\n';
  await writeFileAtomic(file, json);
}

/** Dataset indices of a split part's ids, in the part's order. */
export function indicesOf(ids: readonly string[], part: readonly string[]): number[] {
  const at = new Map(ids.map((id, i) => [id, i] as const));
  return part.map((id) => {
    const i = at.get(id);
    if (i === undefined) throw new Error(`indicesOf: id ${id} is not in the dataset`);
    return i;
  });
}
