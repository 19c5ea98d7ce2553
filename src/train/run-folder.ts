/**
 * A run folder belongs to one run: `<artifacts>/<run id>/` holds run.json (the run's settings, see
 * recipe.ts, and every change made to them on resume), last.ckpt, best.ckpt, split.json, the
 * prediction grids and history.json. While a process trains in it, it holds the folder's lock
 * (util/lock.ts), so a second process on the same folder is refused.
 *
 * Opening a folder that already holds a run:
 *   no flag       refused (naming the folder and the ways out), unless no epoch had finished there
 *   --resume      continues it; settings that differ from run.json are refused, naming each, except
 *                 more epochs and the changes allowed with --allow-change (said in the log, kept in run.json);
 *                 without --epochs it keeps run.json's epochs (planned when it started, e.g. by the recipe's rule)
 *   --overwrite   the old folder is moved aside to <run id>.replaced-<time>, its CSV rows renamed with it
 */
import * as fs from 'fs';
import * as path from 'path';
import { readResults, removeRun, upsertRunRows } from '../report';
import { removeStaleTemps, writeFileAtomic } from '../util/atomic';
import { FolderLock, LockedError, lockFolder } from '../util/lock';
import { describeChange, FLAG, RunSettings, SettingChange, settingsDifferences, CHANGEABLE } from './recipe';
import { parseJson, readTextIfExists } from '../util/json';

export interface RunRecord {
  version: 1;
  runId: string;
  settings: RunSettings;
  createdAt: string;
  /** Settings changed on resume: when, after which epoch, what. */
  changes: { at: string; afterEpoch: number; change: string }[];
}

export function runPaths(artifacts: string, runId: string) {
  const dir = path.join(artifacts, runId);
  return {
    dir,
    runJson: path.join(dir, 'run.json'),
    last: path.join(dir, 'last.ckpt'),
    best: path.join(dir, 'best.ckpt'),
    split: path.join(dir, 'split.json'),
    history: path.join(dir, 'history.json'),
    grid: path.join(dir, 'predictions_best.png'),
  };
}

export type RunPaths = ReturnType<typeof runPaths>;

export function readRunRecord(file: string): RunRecord | null {
  let text: string | null;
  try {
    text = readTextIfExists(file);
  } catch (e) {
    throw new Error(`cannot read ${file} (${(e as NodeJS.ErrnoException).code}); check its permissions`);
  }
  if (text === null) return null;
  try {
    const r = parseJson(text, file) as RunRecord;
    if (r.version !== 1 || typeof r.settings !== 'object' || r.settings === null) throw new Error('unexpected layout');
    r.changes ??= [];
    return r;
  } catch (e) {
    throw new Error(`${file} is damaged (${(e as Error).message}); it is written atomically by melseg, so it was edited: restore it, or start a new run with --overwrite`);
  }
}

export interface OpenRunOptions {
  artifacts: string;
  runId: string;
  settings: RunSettings;
  resume: boolean;
  overwrite: boolean;
  allowChange: readonly (keyof RunSettings)[];
  /** --epochs was not given: a resumed run keeps the epochs of its run.json instead of settings.epochs. */
  keepEpochs?: boolean;
  /** Results CSV whose rows of this run move aside with it on --overwrite. */
  resultsFile: string;
  /** Epochs finished in last.ckpt, read by the caller (0 if none). */
  finishedEpochs: (lastCkpt: string) => number;
  log: (s: string) => void;
}

export interface OpenedRun {
  paths: RunPaths;
  lock: FolderLock;
  record: RunRecord;
  /** Continue from last.ckpt (else start from fresh weights). */
  resume: boolean;
  /** Settings changed against run.json (epochs included). */
  changes: SettingChange[];
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

/** Move a run aside, rows included; returns the new folder. */
async function moveAside(p: RunPaths, runId: string, resultsFile: string): Promise<string> {
  let aside = `${p.dir}.replaced-${stamp()}`;
  for (let k = 1; fs.existsSync(aside); k++) aside = `${p.dir}.replaced-${stamp()}-${k}`;
  fs.renameSync(p.dir, aside);
  fs.rmSync(path.join(aside, '.lock'), { recursive: true, force: true });
  if (fs.existsSync(resultsFile)) {
    const rows = readResults(resultsFile).filter((r) => r.run === runId);
    const asideId = path.basename(aside);
    // copy first, then remove: a crash in between leaves the rows twice (under two ids), never zero times
    if (rows.length) await upsertRunRows(resultsFile, asideId, rows.map((r) => ({ ...r, run: asideId })));
    await removeRun(resultsFile, runId);
  }
  return aside;
}

function refusal(p: RunPaths, epochs: number, diffs: SettingChange[]): Error {
  const what = diffs.length ? ` with other settings (${diffs.map(describeChange).join('; ')})` : '';
  return new Error(
    `${p.dir} already holds a run${what} that finished ${epochs} epoch(s); melseg does not overwrite it. ` +
      `Continue it with --resume${diffs.length ? ' (with its own settings)' : ''}, start over with --overwrite ` +
      `(the old folder is kept as ${path.basename(p.dir)}.replaced-<time>), or give this run another name with --run-id NAME or another --out.`,
  );
}

/**
 * Under the folder's lock (so no live process anywhere writes there), removes the temp files of
 * processes that died mid-write (an orphan `.last.ckpt.<pid>.<hex>.tmp` of a kill -9); returns them.
 */
function removeOrphans(dir: string, log: (s: string) => void): string[] {
  const removed = removeStaleTemps(dir);
  if (removed.length) log(`removed ${removed.length} temp file(s) a stopped process left in ${dir}: ${removed.join(', ')}`);
  return removed;
}

/**
 * Tidies the folder of a run that is finished: takes its lock over from a dead process (and lets it go)
 * and removes orphan temp files. A folder a live process holds is left alone.
 */
export function tidyRunFolder(dir: string, log: (s: string) => void): void {
  if (!fs.existsSync(dir)) return;
  let lock: FolderLock;
  try {
    lock = lockFolder(dir, 'run folder');
  } catch (e) {
    if (e instanceof LockedError) return;
    throw e;
  }
  try {
    removeOrphans(dir, log);
  } finally {
    lock.release();
  }
}

/** `now` with the epochs of `saved` (and how they were chosen), so a resume does not re-plan the run's length. */
function keptEpochs(now: RunSettings, saved: RunSettings): RunSettings {
  const { epochsFrom: _, ...rest } = now;
  return { ...rest, epochs: saved.epochs, ...(saved.epochsFrom ? { epochsFrom: saved.epochsFrom } : {}) };
}

/**
 * The saved record carried on with the settings given: refused unless each difference is allowed by
 * --allow-change; the epochs may change (kept from the saved run with keepEpochs). Each change is
 * logged and recorded with the epoch after which it applies.
 */
function continuedRecord(
  o: OpenRunOptions,
  p: RunPaths,
  saved: RunRecord,
  at: { epochs: number; diffs: SettingChange[]; now: string },
): { record: RunRecord; changes: SettingChange[] } {
  const { epochs, diffs, now } = at;
  const refused = diffs.filter((d) => !o.allowChange.includes(d.key));
  if (refused.length) {
    const allowable = refused.filter((d) => CHANGEABLE.includes(d.key));
    const fixed = refused.filter((d) => !CHANGEABLE.includes(d.key));
    throw new Error(
      `--resume: ${p.dir} was trained with other settings: ${refused.map(describeChange).join('; ')}. ` +
        `Resume with the run's own settings (drop or restore those flags)` +
        (allowable.length ? `, or change them from here on with --allow-change ${allowable.map((d) => FLAG[d.key].slice(2)).join(',')}` : '') +
        (fixed.length ? `; ${fixed.map((d) => FLAG[d.key]).join(', ')} cannot change in a run: start a new one with --run-id NAME, another --out, or --overwrite` : '') +
        '.',
    );
  }
  const changes = [...diffs];
  const settings = o.keepEpochs ? keptEpochs(o.settings, saved.settings) : o.settings;
  if (saved.settings.epochs !== settings.epochs) changes.push({ key: 'epochs', from: saved.settings.epochs, to: settings.epochs });
  const record = {
    ...saved,
    settings,
    changes: [...saved.changes, ...changes.map((c) => ({ at: now, afterEpoch: epochs, change: describeChange(c) }))],
  };
  for (const c of changes) o.log(`changing ${describeChange(c)} from epoch ${epochs + 1} on${c.key === 'epochs' ? '' : ' (--allow-change)'}`);
  return { record, changes };
}

export async function openRun(o: OpenRunOptions): Promise<OpenedRun> {
  const p = runPaths(o.artifacts, o.runId);
  let lock = lockFolder(p.dir, 'run folder');
  try {
    removeOrphans(p.dir, o.log);
    let saved = readRunRecord(p.runJson);
    let epochs = fs.existsSync(p.last) ? o.finishedEpochs(p.last) : 0;
    const occupied = saved !== null || fs.existsSync(p.last) || fs.existsSync(p.best);
    if (o.overwrite && occupied) {
      lock.release();
      const aside = await moveAside(p, o.runId, o.resultsFile);
      o.log(`moved the earlier run aside to ${aside} (its CSV rows now carry the run id ${path.basename(aside)})`);
      lock = lockFolder(p.dir, 'run folder');
      saved = null;
      epochs = 0;
    }
    const now = new Date().toISOString();
    const fresh = (): RunRecord => ({ version: 1, runId: o.runId, settings: o.settings, createdAt: now, changes: [] });
    const diffs = saved ? settingsDifferences(saved.settings, o.settings) : [];
    let record: RunRecord;
    let resume = false;
    let changes: SettingChange[] = [];
    if (epochs === 0 && !fs.existsSync(p.last)) {
      if (saved && !o.resume) o.log(`restarting ${o.runId}: no epoch had finished in ${p.dir}`);
      if (o.resume) o.log(`no ${p.last} yet: starting ${o.runId} from scratch`);
      record = fresh();
    } else if (!o.resume) {
      throw refusal(p, epochs, diffs);
    } else if (!saved) {
      // a folder from a melseg without run.json: its settings cannot be compared
      o.log(`note: ${p.dir} has no run.json (written by an older melseg); resuming without checking its settings`);
      record = fresh();
      resume = true;
    } else {
      ({ record, changes } = continuedRecord(o, p, saved, { epochs, diffs, now }));
      resume = true;
    }
    await writeFileAtomic(p.runJson, JSON.stringify(record, null, 2) + '\n');
    return { paths: p, lock, record, resume, changes };
  } catch (e) {
    lock.release();
    throw e;
  }
}
