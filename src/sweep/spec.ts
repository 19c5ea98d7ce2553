/**
 * Sweep selection specs: which models and losses a sweep runs, and which part of it a shard runs.
 *
 *   --models 0-3            --losses 4,5,9-14         --losses dice_loss,focal_loss,9-14
 *   --models all            --models UNet,unet_dilate (names are case-insensitive)
 *   --shard 1/4             the 2nd of 4 disjoint parts (0-based): combinations whose index % 4 == 1
 */
import { MODELS, modelTable } from '../models';
import { LOSSES, STUDY_LOSS_COUNT, lossTable } from '../losses';

interface Entry {
  id: number;
  name: string;
}

/**
 * Parses a comma-separated list of indices, inclusive index ranges `a-b`, names and `all` against a
 * table; returns the selected indices in table order, without duplicates. Errors list the table.
 */
export function parseIndexSpec(spec: string, table: readonly Entry[], what: 'model' | 'loss', tableText: string): number[] {
  const flag = what === 'model' ? '--models' : '--losses';
  const fail = (why: string) =>
    new Error(`${flag} ${JSON.stringify(spec)}: ${why}. Expected a comma-separated list of numbers, ranges (e.g. 0-3 or 4,5,9-14), names or 'all', from\n${tableText}`);
  const s = String(spec ?? '').trim();
  if (s === '') throw fail('empty');
  const picked = new Set<number>();
  const max = table.length - 1;
  for (const raw of s.split(',')) {
    const item = raw.trim();
    if (item === '') throw fail('empty item (two commas in a row, or a trailing comma)');
    if (item.toLowerCase() === 'all') {
      table.forEach((e) => picked.add(e.id));
      continue;
    }
    const range = /^(\d+)\s*-\s*(\d+)$/.exec(item);
    if (range) {
      const a = Number(range[1]);
      const b = Number(range[2]);
      if (a > b) throw fail(`range ${item} runs backwards; write it as ${b}-${a}`);
      if (b > max) throw fail(`range ${item} goes past the last ${what}, ${max}`);
      for (let k = a; k <= b; k++) picked.add(k);
      continue;
    }
    if (/^\d+$/.test(item)) {
      const k = Number(item);
      if (k > max) throw fail(`there is no ${what} ${k} (the last is ${max})`);
      picked.add(k);
      continue;
    }
    const hit = table.find((e) => e.name.toLowerCase() === item.toLowerCase());
    if (!hit) throw fail(`unknown ${what} '${item}'`);
    picked.add(hit.id);
  }
  return [...picked].sort((a, b) => a - b);
}

export function parseModels(spec: string): number[] {
  return parseIndexSpec(spec, MODELS, 'model', modelTable());
}

export function parseLosses(spec: string): number[] {
  return parseIndexSpec(spec, LOSSES, 'loss', lossTable());
}

/** Accepts index arrays as they are (library callers) or specs (CLI). */
export function toModelList(v: string | readonly (number | string)[] | undefined): number[] {
  if (v === undefined) return MODELS.map((m) => m.id);
  return typeof v === 'string' ? parseModels(v) : parseModels(v.join(','));
}

export function toLossList(v: string | readonly (number | string)[] | undefined): number[] {
  if (v === undefined) return LOSSES.filter((l) => l.id < STUDY_LOSS_COUNT).map((l) => l.id);
  return typeof v === 'string' ? parseLosses(v) : parseLosses(v.join(','));
}

export interface Shard {
  /** 0-based. */
  index: number;
  count: number;
}

/** `i/n` with 0 <= i < n. */
export function parseShard(spec: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(String(spec ?? ''));
  const fail = (why: string) =>
    new Error(`--shard ${JSON.stringify(spec)}: ${why}. Expected i/n with 0 <= i < n (0-based), e.g. --shard 0/4 ... --shard 3/4, or --shard $SLURM_ARRAY_TASK_ID/4`);
  if (!m) throw fail('not of the form i/n');
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1) throw fail('n must be at least 1');
  if (index >= count) throw fail(`i must be below n (shards are numbered 0..${count - 1})`);
  return { index, count };
}

/** Whether the combination at `index` (its position in the sweep's model-major list) belongs to `shard`. */
export function inShard(index: number, shard: Shard | undefined): boolean {
  return !shard || index % shard.count === shard.index;
}

/** `.shard-<i>-of-<n>` for a shard's files (also for --shard 0/1, so scripts see one naming), '' without --shard. */
export function shardSuffix(shard: Shard | undefined): string {
  return shard ? `.shard-${shard.index}-of-${shard.count}` : '';
}
