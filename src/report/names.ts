/**
 * The study's model and loss tables. The results CSV stores NAMES, never indices, so that a row still
 * means the same thing if a table is ever reordered; these helpers convert the CLI's indices.
 */
import { LOSSES } from '../losses';

/** Model index -> name, as in the study's `--model` flag. */
export const MODEL_NAMES: readonly string[] = ['SegNet', 'UNet', 'UNet_stride', 'UNet_dilate'];

/** Loss index -> name, from the loss table (src/losses/index.ts), its one source. */
export const LOSS_NAMES: readonly string[] = LOSSES.map((l) => l.name);

export function modelName(index: number): string {
  const name = MODEL_NAMES[index];
  if (name === undefined || !Number.isInteger(index)) {
    throw new Error(
      `modelName: expected a model index 0..${MODEL_NAMES.length - 1} (${MODEL_NAMES.join(', ')}); found ${index}.`,
    );
  }
  return name;
}

export function lossName(index: number): string {
  const name = LOSS_NAMES[index];
  if (name === undefined || !Number.isInteger(index)) {
    throw new Error(
      `lossName: expected a loss index 0..${LOSS_NAMES.length - 1} (0 ${LOSS_NAMES[0]} .. ${LOSS_NAMES.length - 1} ${LOSS_NAMES[LOSS_NAMES.length - 1]}); found ${index}.`,
    );
  }
  return name;
}

/**
 * Sort rank of a model/loss name: its table index, so charts and merged CSVs follow the study's order
 * (tversky alphas ascending); names outside the table sort after it, alphabetically (ties broken by caller).
 */
export function nameRank(table: readonly string[], name: string): number {
  const i = table.indexOf(name);
  return i >= 0 ? i : table.length;
}

export function compareNames(table: readonly string[], a: string, b: string): number {
  const d = nameRank(table, a) - nameRank(table, b);
  if (d !== 0) return d;
  return a < b ? -1 : a > b ? 1 : 0;
}
