/**
 * An exclusive lock around each read-modify-write of a results file (proper-lockfile: a `<file>.lock`
 * directory, mkdir being atomic across processes and machines sharing a filesystem). Readers do not lock.
 *
 * Only contention is retried: a lock directory that cannot be made because the folder is unwritable,
 * read-only or missing fails at once with what to do, instead of after a minute of retries.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as lockfile from 'proper-lockfile';

/** A holder refreshes its lock every stale/2 ms; one not refreshed for `stale` ms crashed and is taken over. */
const STALE_MS = 10000;

/**
 * Contention retries: waits of 10 ms * 1.3^k capped at 250 ms (jittered) for up to 70 s in all, far
 * longer than any holder keeps the lock (a read plus a rewrite of a few thousand rows).
 */
const WAIT = { first: 10, factor: 1.3, max: 250, total: 70000 };

/** What the filesystem said, and what the user can do about it. */
const FS_HINTS: Record<string, string> = {
  EACCES: 'the folder is not writable by you: make it writable (chmod u+w) or write the results elsewhere with --out DIR',
  EPERM: 'the folder is not writable by you: make it writable (chmod u+w) or write the results elsewhere with --out DIR',
  EROFS: 'the filesystem is read-only: write the results elsewhere with --out DIR',
  ENOENT: 'the folder does not exist (removed meanwhile?): check the path or write the results elsewhere with --out DIR',
  ENOTDIR: 'a part of the path is a file, not a folder: fix the path or write the results elsewhere with --out DIR',
  EEXIST: 'a part of the path is a file, not a folder: fix the path or write the results elsewhere with --out DIR',
  ENOSPC: 'the disk is full: free space or write the results elsewhere with --out DIR',
  EDQUOT: 'the disk quota is used up: free space or write the results elsewhere with --out DIR',
};

function fsError(abs: string, what: string, e: NodeJS.ErrnoException): Error {
  const hint = ((e.code && FS_HINTS[e.code]) ?? 'check the path and that its folder is writable').replace('--out DIR', what === 'merge into' ? '--out FILE (merge\'s --out is the merged CSV, e.g. --out ~/merged.csv)' : '--out DIR');
  return new Error(`cannot ${what} results file ${abs}: ${e.code ?? 'error'} creating ${abs}.lock (${e.message}); ${hint}.`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Per-file promise chain inside this process. proper-lockfile is also exclusive between callers in one
 * process, but by polling; queueing here first means N concurrent writes in one process cost N lock
 * acquisitions, not N^2 failed polls.
 */
const localQueues = new Map<string, Promise<void>>();

async function acquire(abs: string, what: string, onCompromised: (err: Error) => void): Promise<() => Promise<void>> {
  const t0 = Date.now();
  for (let k = 0; ; k++) {
    try {
      return await lockfile.lock(abs, { realpath: false, stale: STALE_MS, retries: 0, onCompromised });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code !== 'ELOCKED') throw fsError(abs, what, e);
      if (Date.now() - t0 > WAIT.total) {
        throw new Error(
          `cannot ${what} results file ${abs}: another process has held ${abs}.lock for over ${WAIT.total / 1000} s. ` +
            `If no other melseg process is writing this file, the lock is left over from a crash: delete it with rm -r ${abs}.lock`,
        );
      }
      const wait = Math.min(WAIT.max, WAIT.first * WAIT.factor ** k);
      await sleep(wait * (0.5 + Math.random()));
    }
  }
}

/**
 * Runs `fn(absolutePath)` holding the lock on `file` (its folder is created first). `what` names the
 * operation in errors ("append to", "merge into").
 */
export async function withLock<T>(file: string, what: string, fn: (abs: string) => Promise<T>): Promise<T> {
  const abs = path.resolve(file);
  try {
    await fs.promises.mkdir(path.dirname(abs), { recursive: true });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const hint = (e.code && FS_HINTS[e.code]) ?? 'check the path';
    throw new Error(`cannot ${what} results file ${abs}: its folder cannot be created (${e.code ?? 'error'}: ${e.message}); ${hint}.`);
  }
  const prev = localQueues.get(abs) ?? Promise.resolve();
  let done!: () => void;
  const tail = prev.then(() => new Promise<void>((r) => (done = r)));
  localQueues.set(abs, tail);
  await prev;
  try {
    // proper-lockfile's default onCompromised throws from a timer (an uncaught exception); report it here.
    let compromised: Error | null = null;
    const release = await acquire(abs, what, (err) => (compromised = err));
    let result: T;
    try {
      result = await fn(abs);
    } finally {
      if (!compromised) await release();
    }
    if (compromised) {
      throw new Error(
        `lost the lock on results file ${abs} while writing (${(compromised as Error).message}): the process stalled for over ` +
          `${STALE_MS / 1000} s and another writer may have taken over. Check the file (melseg chart --results ${abs}) and rerun.`,
      );
    }
    return result;
  } finally {
    done();
    if (localQueues.get(abs) === tail) localQueues.delete(abs);
  }
}
