/**
 * Crash-safe, verified file writes: every file melseg writes goes through here.
 *
 * A plain `fs.writeFile` truncates the target first, so a run killed mid-write (OOM, Ctrl-C, power
 * loss) leaves a half-written `last.ckpt` and destroys the previous good one. Here the bytes go to a
 * temp file in the SAME directory (rename is only atomic within one filesystem), created exclusively
 * (O_EXCL: a planted symlink is never followed). Every byte is written, looping over short writes
 * (a nearly full disk returns short counts before it returns ENOSPC; write-file-atomic 6 took a
 * short count for success and renamed a truncated file over the good one), in chunks of at most
 * 1 GiB (a single write() of 2 GiB or more fails with ERR_OUT_OF_RANGE). The temp file is fsync'ed,
 * its size checked against what was meant to be written, and only then renamed over the target;
 * finally the directory is fsync'ed so the rename itself survives a power loss. A reader sees the
 * old file or the new one, never a mix; on any failure the temp file is removed and the target is
 * left as it was.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

/** What can be written: text (UTF-8), bytes, or a list of byte chunks written back to back (no concatenation). */
export type FileData = string | Uint8Array | readonly Uint8Array[];

const CHUNK = 1 << 30;

function chunksOf(data: FileData): Uint8Array[] {
  if (typeof data === 'string') return [Buffer.from(data, 'utf8')];
  return data instanceof Uint8Array ? [data] : [...data];
}

/**
 * fsync the directory so the new directory entry (the rename) is durable. Best effort: some
 * filesystems refuse to fsync a directory; the file itself is already fsync'ed by then.
 */
function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    /* best effort, see above */
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function removeQuietly(file: string): void {
  try {
    fs.rmSync(file, { force: true });
  } catch {
    /* nothing was created there */
  }
}

const HINTS: Record<string, string> = {
  ENOSPC: 'the disk is full: free space, or write somewhere else',
  EDQUOT: 'the disk quota is used up: free space, or write somewhere else',
  EACCES: 'permission denied: make the folder writable, or write somewhere else',
  EPERM: 'permission denied: make the folder writable, or write somewhere else',
  EROFS: 'the filesystem is read-only: write somewhere else',
  EISDIR: 'a folder has that name: move it aside, or write somewhere else',
};

/** A failed write; `reason` is the system's error code (ENOSPC, EACCES, ...). */
export class WriteError extends Error {
  constructor(readonly file: string, readonly reason: string | undefined, message: string) {
    super(message);
  }
}

function wrapError(file: string, err: unknown): WriteError {
  const e = err as NodeJS.ErrnoException;
  const code = e?.code;
  const hint = (code && HINTS[code]) ?? 'check the path and that its folder is writable';
  return new WriteError(
    file,
    code,
    `could not write ${file} (${code ?? 'error'}: ${e?.message ?? String(err)}); ${hint}. The previous version of the file, if any, is untouched.`,
  );
}

/** Write all of `bytes` at the current position of `fd`, looping over short writes. */
function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) {
    const n = fs.writeSync(fd, bytes, done, Math.min(CHUNK, bytes.length - done));
    if (n <= 0) throw Object.assign(new Error(`write() wrote ${n} bytes`), { code: 'EIO' });
    done += n;
  }
}

/**
 * Atomically replace `file` with `data` (temp file in the same directory, every byte written and
 * checked, fsync, rename), creating parent directories. Throws a WriteError naming the file.
 */
export function writeFileAtomicSync(file: string, data: FileData): void {
  const dir = path.dirname(path.resolve(file));
  const parts = chunksOf(data);
  const expected = parts.reduce((a, p) => a + p.length, 0);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fs.mkdirSync(dir, { recursive: true });
    fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o644);
    for (const p of parts) writeAll(fd, p);
    fs.fsyncSync(fd);
    const size = fs.fstatSync(fd).size;
    if (size !== expected) throw Object.assign(new Error(`wrote ${size} of ${expected} bytes`), { code: 'EIO' });
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    removeQuietly(tmp);
    throw wrapError(file, err);
  }
  fsyncDir(dir);
}

/** Promise form of {@link writeFileAtomicSync} (the same work; callers in async code read better). */
export async function writeFileAtomic(file: string, data: FileData): Promise<void> {
  writeFileAtomicSync(file, data);
}

/** Atomically copy `from` to `to` (read whole, then written as above). */
export async function copyFileAtomic(from: string, to: string): Promise<void> {
  writeFileAtomicSync(to, fs.readFileSync(from));
}

/**
 * Throws a clear error unless files can be created in `dir` (created if missing): checked before
 * long work starts, so that an unwritable output folder is found in a second, not after an epoch.
 */
export function assertWritableDir(dir: string, what: string): void {
  const probe = path.join(dir, `.melseg-write-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(probe, '', { flag: 'wx' });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const hint = (e.code && HINTS[e.code]) ?? 'check the path';
    throw new WriteError(dir, e.code, `${what} ${dir} is not writable (${e.code ?? 'error'}: ${e.message}); ${hint}.`);
  } finally {
    removeQuietly(probe);
  }
}
