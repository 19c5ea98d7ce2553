/**
 * The results CSV: one row per (run, epoch).
 *
 * Durability: every mutation runs under an exclusive lock (proper-lockfile: a `<file>.lock` directory,
 * mkdir being atomic across processes) and replaces the file with write-file-atomic (write a temp file,
 * fsync, rename). A reader therefore sees either the old or the new file, never half a row, and two
 * processes appending at once serialise instead of interleaving. Readers do not lock.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as Papa from 'papaparse';
import * as lockfile from 'proper-lockfile';
import writeFileAtomic from 'write-file-atomic';
import { LOSS_NAMES, MODEL_NAMES, compareNames } from './names';

/** Column order of the file: the study's six columns first, then melseg's extras. */
export const RESULT_COLUMNS = [
  'train_loss',
  'valid_loss',
  'metric',
  'model',
  'criterion',
  'epoch',
  'lr',
  'seconds',
  'images_per_s',
  'run',
] as const;
export type ResultColumn = (typeof RESULT_COLUMNS)[number];

/** The study's columns; a file without melseg's extras (e.g. the study's own CSV) is still readable. */
const REQUIRED_COLUMNS: readonly ResultColumn[] = ['train_loss', 'valid_loss', 'metric', 'model', 'criterion', 'epoch'];
const HEADER = RESULT_COLUMNS.join(',');

export interface ResultRow {
  train_loss: number;
  valid_loss: number;
  /** Validation IoU of this epoch. */
  metric: number;
  /** Model name, e.g. `UNet_dilate` (see MODEL_NAMES). */
  model: string;
  /** Loss name, e.g. `tversky_loss_alpha_0.10` (see LOSS_NAMES). */
  criterion: string;
  /** 1-based. */
  epoch: number;
  lr: number;
  /** Wall time of this epoch (train + validation). */
  seconds: number;
  /** Training throughput of this epoch. */
  images_per_s: number;
  /** Run id; a resumed run keeps its id so upsertRunRows can replace its rows. */
  run: string;
}

/** Best epoch of one (model, criterion) combination, taken from its latest run. */
export interface CombinationSummary {
  model: string;
  criterion: string;
  /** The run summarised: the one whose last row comes last in file order. */
  run: string;
  /** Max validation IoU over the run's epochs; NaN if every metric is blank. */
  bestMetric: number;
  /** First epoch reaching bestMetric; NaN if none. */
  bestEpoch: number;
  /** Losses at the run's last epoch. */
  finalTrainLoss: number;
  finalValidLoss: number;
  /** Rows of the summarised run. */
  epochs: number;
  /** Distinct run ids seen for this combination. */
  runs: number;
}

// ---------------------------------------------------------------------------------------------------------
// Serialisation

/** NaN -> blank cell (what pandas writes); every other number in its shortest round-tripping form. */
function formatNumber(x: number): string {
  return Number.isNaN(x) ? '' : String(x);
}

function rowToCells(r: ResultRow): string[] {
  return [
    formatNumber(r.train_loss),
    formatNumber(r.valid_loss),
    formatNumber(r.metric),
    r.model,
    r.criterion,
    formatNumber(r.epoch),
    formatNumber(r.lr),
    formatNumber(r.seconds),
    formatNumber(r.images_per_s),
    r.run,
  ];
}

/** CSV lines (no header), each ending in '\n'. Papa quotes names containing commas or quotes. */
export function formatRows(rows: readonly ResultRow[]): string {
  if (rows.length === 0) return '';
  return Papa.unparse(rows.map(rowToCells), { newline: '\n' }) + '\n';
}

/** A whole file: header + rows. */
export function formatResultsCsv(rows: readonly ResultRow[]): string {
  return HEADER + '\n' + formatRows(rows);
}

function validateRows(where: string, rows: readonly ResultRow[]): void {
  rows.forEach((r, i) => {
    const problems: string[] = [];
    if (typeof r.model !== 'string' || r.model === '') problems.push(`model must be a non-empty name, found ${JSON.stringify(r.model)}`);
    if (typeof r.criterion !== 'string' || r.criterion === '') {
      problems.push(`criterion must be a non-empty name, found ${JSON.stringify(r.criterion)}`);
    }
    if (!Number.isInteger(r.epoch) || r.epoch < 1) problems.push(`epoch must be an integer >= 1, found ${r.epoch}`);
    if (typeof r.run !== 'string') problems.push(`run must be a string id, found ${JSON.stringify(r.run)}`);
    for (const c of ['train_loss', 'valid_loss', 'metric', 'lr', 'seconds', 'images_per_s'] as const) {
      if (typeof r[c] !== 'number') problems.push(`${c} must be a number (NaN for unknown), found ${JSON.stringify(r[c])}`);
    }
    if (problems.length > 0) {
      throw new Error(`${where}: row ${i} is invalid: ${problems.join('; ')}. Fix the caller that built the row.`);
    }
  });
}

// ---------------------------------------------------------------------------------------------------------
// Parsing

/** Blank and Python's 'nan' read as NaN (pandas writes blanks for NaN; numpy prints 'nan'/'inf'). */
function parseNumber(cell: string, file: string, line: number, column: string): number {
  const s = cell.trim();
  if (s === '' || /^[+-]?nan$/i.test(s)) return NaN;
  if (/^[+-]?inf(inity)?$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  const x = Number(s);
  if (Number.isNaN(x)) {
    throw new Error(
      `${file}:${line}: column ${column} expected a number (or blank for unknown); found ${JSON.stringify(cell)}. ` +
        `Fix or delete line ${line}.`,
    );
  }
  return x;
}

/** A bare integer in a name column is a table index (older scripts stored indices); map it to the name. */
function parseName(cell: string, table: readonly string[], file: string, line: number, column: string): string {
  const s = cell.trim();
  if (s === '') {
    throw new Error(`${file}:${line}: column ${column} expected a name (e.g. ${table[1]}); found a blank cell. Fix or delete line ${line}.`);
  }
  if (/^\d+$/.test(s) && Number(s) < table.length) return table[Number(s)];
  return s;
}

/**
 * Parses one results CSV's text. Line numbers are 1-based file lines: Papa's row i is line i + 1, exact
 * because no cell we write contains a newline.
 */
export function parseResultsCsv(text: string, file: string): ResultRow[] {
  const parsed = Papa.parse<string[]>(text.replace(/^\uFEFF/, ''), { header: false, skipEmptyLines: false });
  const quoteError = parsed.errors.find((e) => e.type === 'Quotes');
  if (quoteError) {
    const line = (quoteError.row ?? 0) + 1;
    throw new Error(`${file}:${line}: malformed CSV (${quoteError.message}). Fix the quoting on line ${line} or delete it.`);
  }
  const data = parsed.data;
  if (data.length === 0 || (data.length === 1 && data[0].length === 1 && data[0][0] === '')) return [];

  const header = data[0].map((h) => h.trim());
  const col = new Map<string, number>();
  header.forEach((h, i) => col.set(h, i));
  const missing = REQUIRED_COLUMNS.filter((c) => !col.has(c));
  if (missing.length > 0) {
    throw new Error(
      `${file}:1: header lacks column(s) ${missing.join(', ')}; expected a header like '${HEADER}'; found '${header.join(',')}'. ` +
        `Is this a results CSV? Fix the header or pass the right file.`,
    );
  }

  const rows: ResultRow[] = [];
  for (let i = 1; i < data.length; i++) {
    const cells = data[i];
    const line = i + 1;
    if (cells.length === 1 && cells[0].trim() === '') continue;
    if (cells.length !== header.length) {
      throw new Error(
        `${file}:${line}: expected ${header.length} fields (as in the header); found ${cells.length}: ${JSON.stringify(cells.join(','))}. ` +
          `The line is truncated or has extra commas: repair or delete line ${line}.`,
      );
    }
    const num = (c: ResultColumn): number => {
      const j = col.get(c);
      return j === undefined ? NaN : parseNumber(cells[j], file, line, c);
    };
    const epoch = num('epoch');
    if (!Number.isInteger(epoch)) {
      throw new Error(`${file}:${line}: column epoch expected an integer; found ${JSON.stringify(cells[col.get('epoch')!])}. Fix or delete line ${line}.`);
    }
    const runCol = col.get('run');
    rows.push({
      train_loss: num('train_loss'),
      valid_loss: num('valid_loss'),
      metric: num('metric'),
      model: parseName(cells[col.get('model')!], MODEL_NAMES, file, line, 'model'),
      criterion: parseName(cells[col.get('criterion')!], LOSS_NAMES, file, line, 'criterion'),
      epoch,
      lr: num('lr'),
      seconds: num('seconds'),
      images_per_s: num('images_per_s'),
      run: runCol === undefined ? '' : cells[runCol].trim(),
    });
  }
  return rows;
}

/** Rows of several results CSVs, concatenated in argument order then file order. */
export function readResults(files: string | readonly string[]): ResultRow[] {
  const list = typeof files === 'string' ? [files] : files;
  const out: ResultRow[] = [];
  for (const f of list) {
    let text: string;
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new Error(
        `readResults: cannot read ${f} (${code ?? String(e)}); expected a results CSV written by appendResults. ` +
          `Check the path (cwd is ${process.cwd()}).`,
      );
    }
    for (const r of parseResultsCsv(text, f)) out.push(r);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Locking and atomic replacement

/**
 * Lock retries: exponential backoff 10ms * 1.3^k capped at 250ms, 300 tries, i.e. up to ~70 s of waiting,
 * far longer than any holder keeps it (a read + a rewrite of a few thousand rows).
 */
const LOCK_OPTIONS: lockfile.LockOptions = {
  realpath: false, // the data file may not exist yet; lock its path
  stale: 10000, // a lock whose holder stopped refreshing it (every 5 s) for 10 s crashed: it is taken over
  retries: { retries: 300, factor: 1.3, minTimeout: 10, maxTimeout: 250, randomize: true },
};

/**
 * Per-file promise chain inside this process. proper-lockfile is also exclusive between callers in one
 * process, but by polling; queueing here first means N concurrent appends in one process cost N lock
 * acquisitions, not N^2 failed polls.
 */
const localQueues = new Map<string, Promise<void>>();

async function withLock<T>(file: string, what: string, fn: (abs: string) => Promise<T>): Promise<T> {
  const abs = path.resolve(file);
  await fs.promises.mkdir(path.dirname(abs), { recursive: true });
  const prev = localQueues.get(abs) ?? Promise.resolve();
  let done!: () => void;
  const tail = prev.then(() => new Promise<void>((r) => (done = r)));
  localQueues.set(abs, tail);
  await prev;
  try {
    let release: () => Promise<void>;
    // proper-lockfile's default onCompromised throws from a timer (an uncaught exception); report it here.
    let compromised: Error | null = null;
    try {
      release = await lockfile.lock(abs, { ...LOCK_OPTIONS, onCompromised: (err) => (compromised = err) });
    } catch (e) {
      throw new Error(
        `${what}: could not lock ${abs} (${(e as Error).message}); expected to take ${abs}.lock within ~70 s. ` +
          `If no other melseg process is writing this file, the lock is left over from a crash: delete ${abs}.lock.`,
      );
    }
    let result: T;
    try {
      result = await fn(abs);
    } finally {
      if (!compromised) await release();
    }
    if (compromised) {
      throw new Error(
        `${what}: lost the lock on ${abs} while writing (${(compromised as Error).message}): the process stalled for over ` +
          `${LOCK_OPTIONS.stale} ms and another writer may have taken over. Check the file with readResults and rerun.`,
      );
    }
    return result;
  } finally {
    done();
    if (localQueues.get(abs) === tail) localQueues.delete(abs);
  }
}

function readTextIfExists(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** Mutators only rewrite files in the current column order, so they never reshuffle a foreign file. */
function checkHeader(text: string, file: string, what: string): void {
  const first = text.replace(/^\uFEFF/, '').split('\n', 1)[0].replace(/\r$/, '');
  if (first !== HEADER) {
    throw new Error(
      `${what}: ${file} has header '${first}'; expected '${HEADER}'. ` +
        `Convert it with mergeResults([file], file) (reads older layouts, writes this one) or move it aside with startFresh(file).`,
    );
  }
}

/** Existing rows of a file being mutated (empty if absent); throws on a foreign header or a malformed line. */
function readForUpdate(abs: string, what: string): { text: string | null; rows: ResultRow[] } {
  const text = readTextIfExists(abs);
  if (text === null || text.trim() === '') return { text: null, rows: [] };
  checkHeader(text, abs, what);
  return { text, rows: parseResultsCsv(text, abs) };
}

// ---------------------------------------------------------------------------------------------------------
// Mutations

/** Appends rows; creates the file (and its directory) with the header if absent. */
export async function appendResults(file: string, rows: readonly ResultRow[]): Promise<void> {
  validateRows(`appendResults(${file})`, rows);
  if (rows.length === 0) return;
  await withLock(file, 'appendResults', async (abs) => {
    let text = readTextIfExists(abs);
    if (text === null || text.trim() === '') {
      text = HEADER + '\n';
    } else {
      checkHeader(text, abs, 'appendResults');
      // Validates every existing line too: appending after a damaged line would bury the damage.
      parseResultsCsv(text, abs);
      if (!text.endsWith('\n')) text += '\n';
    }
    await writeFileAtomic(abs, text + formatRows(rows));
  });
}

/**
 * The study's `--new_dataframe 1`: moves an existing file aside to `<file>.<ISO timestamp>.bak`, so the
 * next append starts a new file and nothing is lost. Returns the backup path, or null if there was no file.
 */
export async function startFresh(file: string): Promise<string | null> {
  return withLock(file, 'startFresh', async (abs) => {
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
  return withLock(file, 'removeRun', async (abs) => {
    const { text, rows } = readForUpdate(abs, 'removeRun');
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
  if (runId === '') throw new Error(`upsertRunRows(${file}): expected a non-empty run id; found ''. Pass the run's id.`);
  const own = rows.map((r, i) => {
    if (r.run !== '' && r.run !== runId) {
      throw new Error(
        `upsertRunRows(${file}): row ${i} has run ${JSON.stringify(r.run)}; expected ${JSON.stringify(runId)} (or blank). ` +
          `Upsert each run's rows separately.`,
      );
    }
    return { ...r, run: runId };
  });
  validateRows(`upsertRunRows(${file})`, own);
  await withLock(file, 'upsertRunRows', async (abs) => {
    const { rows: existing } = readForUpdate(abs, 'upsertRunRows');
    await writeFileAtomic(abs, formatResultsCsv([...existing.filter((r) => r.run !== runId), ...own]));
  });
}

// ---------------------------------------------------------------------------------------------------------
// Combining

/** Study order: model table order, then loss table order, then epoch; stable, so ties keep input order. */
export function sortRows(rows: readonly ResultRow[]): ResultRow[] {
  return [...rows].sort(
    (a, b) =>
      compareNames(MODEL_NAMES, a.model, b.model) ||
      compareNames(LOSS_NAMES, a.criterion, b.criterion) ||
      a.epoch - b.epoch,
  );
}

/**
 * Concatenates shards, keeps ONE row per (run, model, criterion, epoch) — the last one read, i.e. from the
 * later shard — sorts with sortRows and writes `output` atomically under its lock. Keying on the model
 * and criterion as well as (run, epoch) keeps two sweeps that reused short run ids ('0', '1') apart.
 * `output` may be one of `inputs`. Returns the merged rows.
 */
export async function mergeResults(inputs: readonly string[], output: string): Promise<ResultRow[]> {
  if (inputs.length === 0) throw new Error(`mergeResults: expected at least one input CSV; found none. Pass the shard files.`);
  return withLock(output, 'mergeResults', async (abs) => {
    const all = readResults(inputs);
    const seen = new Set<string>();
    const keptReversed: ResultRow[] = [];
    for (let i = all.length - 1; i >= 0; i--) {
      const r = all[i];
      const key = JSON.stringify([r.run, r.model, r.criterion, r.epoch]);
      if (seen.has(key)) continue;
      seen.add(key);
      keptReversed.push(r);
    }
    const merged = sortRows(keptReversed.reverse());
    await writeFileAtomic(abs, formatResultsCsv(merged));
    return merged;
  });
}

/**
 * Best validation IoU and its epoch per (model, criterion). A combination trained several times (a
 * rerun under a new id) is summarised by its latest run: the run whose last row comes last in `rows`.
 * Blank (NaN) metrics are ignored; ties go to the earliest epoch. Output in study order.
 */
export function bestPerCombination(rows: readonly ResultRow[]): CombinationSummary[] {
  const groups = new Map<string, { model: string; criterion: string; rows: ResultRow[]; lastRun: string; runs: Set<string> }>();
  for (const r of rows) {
    const key = JSON.stringify([r.model, r.criterion]);
    let g = groups.get(key);
    if (!g) {
      g = { model: r.model, criterion: r.criterion, rows: [], lastRun: r.run, runs: new Set() };
      groups.set(key, g);
    }
    g.rows.push(r);
    g.lastRun = r.run;
    g.runs.add(r.run);
  }
  const out: CombinationSummary[] = [];
  for (const g of groups.values()) {
    const runRows = g.rows.filter((r) => r.run === g.lastRun).sort((a, b) => a.epoch - b.epoch);
    let bestMetric = NaN;
    let bestEpoch = NaN;
    for (const r of runRows) {
      if (!Number.isNaN(r.metric) && (Number.isNaN(bestMetric) || r.metric > bestMetric)) {
        bestMetric = r.metric;
        bestEpoch = r.epoch;
      }
    }
    const last = runRows[runRows.length - 1];
    out.push({
      model: g.model,
      criterion: g.criterion,
      run: g.lastRun,
      bestMetric,
      bestEpoch,
      finalTrainLoss: last.train_loss,
      finalValidLoss: last.valid_loss,
      epochs: runRows.length,
      runs: g.runs.size,
    });
  }
  return out.sort((a, b) => compareNames(MODEL_NAMES, a.model, b.model) || compareNames(LOSS_NAMES, a.criterion, b.criterion));
}

/** Rows of the run that bestPerCombination summarises for each combination, sorted by epoch. */
export function latestRunRows(rows: readonly ResultRow[]): ResultRow[] {
  const lastRun = new Map<string, string>();
  for (const r of rows) lastRun.set(JSON.stringify([r.model, r.criterion]), r.run);
  return sortRows(rows.filter((r) => lastRun.get(JSON.stringify([r.model, r.criterion])) === r.run));
}
