/**
 * Checks of a run's outputs made before the first epoch, so that a problem costs a second, not an epoch.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseResultsCsv, RESULT_COLUMNS } from '../report';
import { assertWritableDir } from '../util/atomic';

/** The results CSV a run appends to: its folder writable, and the file (if any) one of melseg's. */
export function checkResultsFile(file: string): void {
  assertWritableDir(path.dirname(path.resolve(file)), 'results folder');
  if (!fs.existsSync(file)) return;
  const text = fs.readFileSync(file, 'utf8');
  if (text.trim() === '') return;
  const header = text.replace(/^\uFEFF/, '').split('\n', 1)[0].replace(/\r$/, '');
  if (header !== RESULT_COLUMNS.join(',')) {
    throw new Error(
      `${file} is not a melseg results CSV (its header is '${header.slice(0, 120)}'; expected '${RESULT_COLUMNS.join(',')}'). ` +
        `Write this run's results elsewhere (--out DIR), move the file aside, or start a fresh one with --new-dataframe 1 (the old file is kept as .bak).`,
    );
  }
  parseResultsCsv(text, file);
}
