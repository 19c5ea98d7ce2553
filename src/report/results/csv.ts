/**
 * The results CSV format: one row per (run, epoch), the study's six columns first, then melseg's.
 * Numbers are written in their shortest round-tripping form and NaN as a blank cell (what pandas
 * writes); model and loss are stored as names (see ../names).
 */
import * as fs from 'fs';
import * as Papa from 'papaparse';
import { LOSS_NAMES, MODEL_NAMES } from '../names';

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
export const REQUIRED_COLUMNS: readonly ResultColumn[] = ['train_loss', 'valid_loss', 'metric', 'model', 'criterion', 'epoch'];

/** The header line melseg writes. */
export const RESULTS_HEADER = RESULT_COLUMNS.join(',');

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

// ---------------------------------------------------------------------------------------------------------
// Writing

/** NaN -> blank cell; every other number in its shortest round-tripping form. */
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
  return RESULTS_HEADER + '\n' + formatRows(rows);
}

/** Rows built by code (the trainer, a merge) are checked before they reach a file. */
export function validateRows(where: string, rows: readonly ResultRow[]): void {
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
// Reading

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
      `${file}:1: header lacks column(s) ${missing.join(', ')}; expected a header like '${RESULTS_HEADER}'; found '${header.join(',')}'. ` +
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
        `cannot read results file ${f} (${code ?? String(e)}); expected a results CSV written by melseg train or sweep. ` +
          `Check the path (cwd is ${process.cwd()}).`,
      );
    }
    for (const r of parseResultsCsv(text, f)) out.push(r);
  }
  return out;
}
