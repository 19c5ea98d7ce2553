/**
 * Model and loss names for the results CSV and the charts, taken from the one model table
 * (src/models) and the one loss table (src/losses): a model or loss added there is known here too.
 * The results CSV stores NAMES, never indices, so that a row still means the same thing if a table
 * is ever reordered; these helpers convert the CLI's indices.
 */
import { LOSSES } from '../losses';
import { MODELS } from '../models';
import { unsizedModel } from './results/sizes';

/** Model index -> name, as in the study's `--model` flag. */
export const MODEL_NAMES: readonly string[] = MODELS.map((m) => m.name);

/** Loss index -> name, as in the study's `--loss` flag (`tversky_loss_alpha_0.30` for 7). */
export const LOSS_NAMES: readonly string[] = LOSSES.map((l) => l.name);

function nameAt(table: readonly string[], what: string, index: number): string {
  const name = Number.isInteger(index) ? table[index] : undefined;
  if (name === undefined) {
    const last = table.length - 1;
    throw new Error(`expected a ${what} number 0..${last} (0 ${table[0]} .. ${last} ${table[last]}); found ${index}.`);
  }
  return name;
}

export function modelName(index: number): string {
  return nameAt(MODEL_NAMES, 'model', index);
}

export function lossName(index: number): string {
  return nameAt(LOSS_NAMES, 'loss', index);
}

/**
 * Sort rank of a model/loss name: its table index, so charts and merged CSVs follow the study's order
 * (tversky alphas ascending); names outside the table sort after it, alphabetically (ties broken by caller).
 * A model name marked with its image size (results/sizes.ts) ranks as the model.
 */
export function nameRank(table: readonly string[], name: string): number {
  const i = table.indexOf(unsizedModel(name));
  return i >= 0 ? i : table.length;
}

export function compareNames(table: readonly string[], a: string, b: string): number {
  const d = nameRank(table, a) - nameRank(table, b);
  if (d !== 0) return d;
  return a < b ? -1 : a > b ? 1 : 0;
}
