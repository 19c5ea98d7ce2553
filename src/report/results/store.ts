/**
 * Transactions on a results file. Every mutation takes the file's lock (./lock), reads it, checks it,
 * and replaces it whole through writeFileAtomic (temp file, fsync, rename): a reader sees the old or
 * the new file, never half a row, and two processes writing at once serialise instead of interleaving.
 */
import * as fs from 'fs';
import * as path from 'path';
import { WriteError, assertWritableDir, writeFileAtomic } from '../../util/atomic';
import { REQUIRED_COLUMNS, RESULTS_HEADER, ResultRow, formatResultsCsv, formatRows, parseResultsCsv, readResults, validateRows } from './csv';
import { withLock } from './lock';
import { sortRows } from './summary';

/** A path as a user can paste it into a shell. */
function shellPath(p: string): string {
  return /^[\w./+@:=-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`;
}

function firstLine(text: string): string {
  return text.replace(/^\uFEFF/, '').split('\n', 1)[0].replace(/\r$/, '');
}

/**
 * Mutators only rewrite files in the current column order, so they never reshuffle a foreign file. A
 * file in an older layout that still has the study's columns can be converted by `melseg merge`.
 */
function checkHeader(text: string, file: string): void {
  const first = firstLine(text);
  if (first === RESULTS_HEADER) return;
  const f = shellPath(file);
  const columns = first.split(',').map((c) => c.trim().replace(/^"|"$/g, ''));
  const convertible = REQUIRED_COLUMNS.every((c) => columns.includes(c));
  // One fix per line, each command alone on its line, so it can be copied whole.
  const fixes = convertible
    ? [`melseg merge --results ${f} --out ${f}`, '    converts it in place, keeping every row']
    : [`mv ${f} ${f}.old`, '    moves it aside (it is not a melseg results file)'];
  fixes.push(
    'rerun melseg train or sweep with --new-dataframe 1',
    '    moves it aside as .bak and starts a fresh file',
    'rerun melseg train or sweep with --out DIR',
    '    writes the results elsewhere',
  );
  throw new Error(`results file ${file} has header '${first}'; expected '${RESULTS_HEADER}'. Fix it with one of:\n${fixes.map((l) => `  ${l}`).join('\n')}`);
}

function readTextIfExists(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') return null;
    const hint = err.code === 'EISDIR' ? 'a folder has that name: pass a file path' : 'check its permissions';
    throw new Error(`cannot read results file ${file} (${err.code ?? 'error'}: ${err.message}); ${hint}.`);
  }
}

/** Existing rows of a file being mutated (empty if absent); throws on a foreign header or a malformed line. */
function readForUpdate(abs: string): { text: string | null; rows: ResultRow[] } {
  const text = readTextIfExists(abs);
  if (text === null || text.trim() === '') return { text: null, rows: [] };
  checkHeader(text, abs);
  return { text, rows: parseResultsCsv(text, abs) };
}

/**
 * Checks, before any training starts, that results can later be written to `file`: its folder is
 * writable (created if missing), and if the file exists, it has melseg's header and every line parses.
 * Throws an error naming the file, what is wrong, and a command or flag that fixes it.
 */
export function checkResultsFile(file: string): void {
  const dir = path.dirname(path.resolve(file));
  try {
    assertWritableDir(dir, 'results folder');
  } catch (e) {
    if (!(e instanceof WriteError)) throw e;
    throw new Error(`cannot write results file ${file}: ${e.message} Or write the results elsewhere with --out DIR.`);
  }
  readForUpdate(path.resolve(file));
}

/** Appends rows; creates the file (and its directory) with the header if absent. */
export async function appendResults(file: string, rows: readonly ResultRow[]): Promise<void> {
  validateRows(`appending to ${file}`, rows);
  if (rows.length === 0) return;
  await withLock(file, 'append to', async (abs) => {
    // Reads and validates every existing line too: appending after a damaged line would bury the damage.
    const { text } = readForUpdate(abs);
    const head = text === null ? RESULTS_HEADER + '\n' : text.endsWith('\n') ? text : text + '\n';
    await writeFileAtomic(abs, head + formatRows(rows));
  });
}

/**
 * The study's `--new_dataframe 1`: moves an existing file aside to `<file>.<ISO timestamp>.bak`, so the
 * next append starts a new file and nothing is lost. Returns the backup path, or null if there was no file.
 */
export async function startFresh(file: string): Promise<string | null> {
  return withLock(file, 'start afresh', async (abs) => {
    if (!fs.existsSync(abs)) return null;
    const stamp = new Date().toISOString().replace(/[:.]/g, '-'); // ':' is not allowed in Windows names
    let bak = `${abs}.${stamp}.bak`;
    for (let k = 1; fs.existsSync(bak); k++) bak = `${abs}.${stamp}-${k}.bak`;
    await fs.promises.rename(abs, bak);
    return bak;
  });
}

/** Deletes every row of `runId`. Returns how many were removed. */
export async function removeRun(file: string, runId: string): Promise<number> {
  return withLock(file, 'remove a run from', async (abs) => {
    const { text, rows } = readForUpdate(abs);
    if (text === null) return 0;
    const kept = rows.filter((r) => r.run !== runId);
    const removed = rows.length - kept.length;
    if (removed > 0) await writeFileAtomic(abs, formatResultsCsv(kept));
    return removed;
  });
}

/**
 * Replaces all rows of `runId` by `rows` in one atomic rewrite (a resumed run re-writes its history
 * without duplicating epochs). The run's rows move to the end of the file, so it counts as the latest
 * run of its combination. A row with a blank run gets `runId`; a different run id is an error.
 */
export async function upsertRunRows(file: string, runId: string, rows: readonly ResultRow[]): Promise<void> {
  if (runId === '') throw new Error(`writing results to ${file}: expected a non-empty run id; found ''. Pass the run's id.`);
  const own = rows.map((r, i) => {
    if (r.run !== '' && r.run !== runId) {
      throw new Error(
        `writing results of run ${JSON.stringify(runId)} to ${file}: row ${i} has run ${JSON.stringify(r.run)}; ` +
          `expected ${JSON.stringify(runId)} (or blank). Upsert each run's rows separately.`,
      );
    }
    return { ...r, run: runId };
  });
  validateRows(`writing results to ${file}`, own);
  await withLock(file, 'write to', async (abs) => {
    const { rows: existing } = readForUpdate(abs);
    await writeFileAtomic(abs, formatResultsCsv([...existing.filter((r) => r.run !== runId), ...own]));
  });
}

/**
 * Concatenates result files (a sweep's shards, or the runs of several machines). One row per (run,
 * model, criterion, epoch) is kept where the files agree on it (the same run read twice: the later
 * file's row, whose timings may differ). Rows that share that key but not their results (train and
 * valid loss, IoU) are two different runs that happen to have the same id (e.g. the same model x loss
 * trained with two learning rates into two --out folders): both are kept, the later file's run renamed
 * `<run>@<file name>`, so that no run's rows replace another's. A row without a run id (the study's own
 * CSV) cannot be told from another run's row, so every such row is kept. `output` must be one of
 * `inputs` if it exists when the lock is held (merging never drops a file's rows); sorted with sortRows, written atomically
 * under its lock. Returns the merged rows and the runs renamed.
 */
export async function mergeResults(inputs: readonly string[], output: string): Promise<ResultRow[] & { renamed?: string[] }> {
  if (inputs.length === 0) throw new Error(`merging into ${output}: expected at least one input CSV; found none. Pass the shard files with --results.`);
  const absIn = inputs.map((f) => path.resolve(f));
  return withLock(output, 'merge into', async (abs) => {
    // checked under the lock: two merges onto one new --out must not both find it absent
    if (fs.existsSync(abs) && !absIn.includes(abs)) {
      throw new Error(`${output} exists and is not one of the files merged, so its rows would be lost: add it with --results ${output} to merge into it, or choose another --out`);
    }
    const same = (a: ResultRow, b: ResultRow) => a.train_loss === b.train_loss && a.valid_loss === b.valid_loss && Object.is(a.metric, b.metric);
    const byKey = new Map<string, ResultRow>();
    const loose: ResultRow[] = [];
    const renamed = new Set<string>();
    for (const file of inputs) {
      const stem = path.basename(file);
      const rows = readResults(file);
      // a run clashes when any of its rows disagrees with a row already kept under the same key
      const clashing = new Set(rows.filter((r) => r.run !== '' && byKey.has(key(r)) && !same(byKey.get(key(r))!, r)).map((r) => r.run));
      for (const r of rows) {
        if (r.run === '') {
          loose.push(r);
          continue;
        }
        const row = clashing.has(r.run) ? { ...r, run: `${r.run}@${stem}` } : r;
        if (row !== r) renamed.add(row.run);
        byKey.set(key(row), row);
      }
    }
    const merged = sortRows([...byKey.values(), ...loose]) as ResultRow[] & { renamed?: string[] };
    await writeFileAtomic(abs, formatResultsCsv(merged));
    if (renamed.size) merged.renamed = [...renamed];
    return merged;
  });
}

function key(r: ResultRow): string {
  return JSON.stringify([r.run, r.model, r.criterion, r.epoch]);
}
