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

/** Longest file name most filesystems allow (NAME_MAX: ext4, XFS, APFS, NTFS), in bytes. */
export const NAME_MAX = 255;

/**
 * `.<name>.<pid>.<hex>.tmp`, the name cut (at a character boundary) so that the whole stays within
 * NAME_MAX bytes: any name the final file may have gets a temp name the filesystem accepts.
 */
export function tempName(name: string): string {
  const suffix = `.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  let stem = name;
  while (Buffer.byteLength(`.${stem}${suffix}`) > NAME_MAX) stem = [...stem].slice(0, -1).join('');
  return `.${stem}${suffix}`;
}

/** A temp name of tempName's form, with the pid that made it. */
const TEMP_RE = /^\..*\.(\d+)\.[0-9a-f]{8}\.tmp$/;

/** Whether process `pid` exists on this machine (EPERM: it does, another user's). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temp files (tempName's form) in `dir` left by processes that died mid-write (kill -9,
 * OOM, power loss); returns their names. Call it only while holding `dir`'s lock: a pid is only
 * meaningful on this host, and the lock is what says no process elsewhere is writing there.
 */
export function removeStaleTemps(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    const m = TEMP_RE.exec(n);
    if (!m || Number(m[1]) === process.pid || alive(Number(m[1]))) continue;
    removeQuietly(path.join(dir, n));
    removed.push(n);
  }
  return removed;
}

/** What a command reads, so that its output never lands on it (see checkOutputFile). */
export interface OutputCheck {
  /** The flag that names the output, e.g. '--out'. */
  flag: string;
  /** What a folder given as the output should have been, e.g. 'a file name'. */
  expected: string;
  /** What is written, e.g. 'the checkpoint'. */
  noun: string;
  /** A file name for the suggestion, e.g. 'model.onnx' (its extension is suggested beside an input). */
  example: string;
  /** Files the command reads: never replaced, even with --force. */
  inputs?: readonly { flag: string; file: string }[];
  /** Folders the command reads (a dataset): nothing is written inside them, even with --force. */
  inputDirs?: readonly { flag: string; dir: string }[];
  /** Replace an existing file that is not an input. */
  force?: boolean;
}

function sameFile(a: fs.Stats, b: fs.Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino; // a hard link or symlink to the input is the input
}

/** Whether `file` (existing or not) lies inside folder `dir` (both through their real paths). */
export function isInside(file: string, dir: string): boolean {
  let real: string;
  try {
    real = fs.realpathSync(dir);
  } catch {
    return false;
  }
  let probe = path.resolve(file);
  const tail: string[] = [];
  while (!fs.existsSync(probe) && path.dirname(probe) !== probe) {
    tail.unshift(path.basename(probe));
    probe = path.dirname(probe);
  }
  const abs = path.join(fs.realpathSync(probe), ...tail);
  const rel = path.relative(real, abs);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * The one check before a command writes a file the user named: never a folder, never a file the
 * command reads (the same file through any path, link or hard link) or anything inside a dataset it
 * reads, and an existing file only with --force. Throws what was found and the command line that fixes it.
 */
export function checkOutputFile(out: string, c: OutputCheck): void {
  const st = fs.statSync(out, { throwIfNoEntry: false });
  if (st?.isDirectory()) throw new Error(`${c.flag} ${out} is a folder; expected ${c.expected}, e.g. ${c.flag} ${path.join(out, c.example)}`);
  for (const d of c.inputDirs ?? []) {
    if (isInside(out, d.dir))
      throw new Error(`${c.flag} ${out} is inside ${d.dir}, the ${d.flag} folder melseg reads; it never writes there: choose a file outside it, e.g. ${c.flag} ${c.example}`);
  }
  if (!st) return;
  for (const i of c.inputs ?? []) {
    const ist = fs.statSync(i.file, { throwIfNoEntry: false });
    if (!ist || !sameFile(st, ist)) continue;
    const ext = path.extname(c.example);
    let other = out.replace(/(\.[^./]+)?$/, ext);
    if (other === out) other = out.replace(/(\.[^./]+)?$/, `-out${ext}`);
    throw new Error(`${c.flag} ${out} is the ${i.flag} file itself; write ${c.noun} beside it, e.g. ${c.flag} ${other}`);
  }
  if (!c.force) throw new Error(`${c.flag} ${out} already exists; add --force to replace it, or choose another ${c.flag}`);
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
  const tmp = path.join(dir, tempName(path.basename(file)));
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
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(from);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(`could not read ${from} to copy it to ${to} (${e.code ?? 'error'}: ${e.message}); check that it is a readable file. ${to} is untouched.`);
  }
  writeFileAtomicSync(to, bytes);
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

/** Moves every entry of folder `from` into `to` (subfolders merged), `last` after the rest. */
function moveInto(from: string, to: string, last: string | undefined): void {
  fs.mkdirSync(to, { recursive: true });
  const names = fs.readdirSync(from).sort((a, b) => Number(a === last) - Number(b === last));
  for (const n of names) {
    const src = path.join(from, n);
    const dst = path.join(to, n);
    if (fs.statSync(src).isDirectory() && fs.existsSync(dst)) moveInto(src, dst, undefined);
    else fs.renameSync(src, dst);
  }
  fsyncDir(to);
}

/**
 * Builds a folder beside `dir` (`.<name>.<pid>.<hex>.tmp`, filled by `fill`), then puts it in place:
 * one rename when `dir` is new or empty, so a reader (or a kill -9) sees the whole folder or none of it.
 * Into an existing folder the files are renamed in one by one, `last` (e.g. index.html) at the end,
 * so every file is whole and the other files of the folder are kept. On failure the staging folder is
 * removed and `dir` is as it was; staging folders of dead processes are removed first.
 */
export async function writeFolderAtomic(dir: string, fill: (staging: string) => Promise<void>, o: { last?: string } = {}): Promise<void> {
  const abs = path.resolve(dir);
  const parent = path.dirname(abs);
  fs.mkdirSync(parent, { recursive: true });
  const base = path.basename(abs);
  for (const n of fs.readdirSync(parent)) {
    const m = TEMP_RE.exec(n);
    if (m && n.startsWith(`.${base.slice(0, 8)}`) && Number(m[1]) !== process.pid && !alive(Number(m[1]))) fs.rmSync(path.join(parent, n), { recursive: true, force: true });
  }
  const staging = path.join(parent, tempName(base));
  fs.mkdirSync(staging);
  try {
    await fill(staging); // its own errors say what failed; the placing below is what this function writes
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  try {
    let empty = false;
    try {
      empty = fs.readdirSync(abs).length === 0;
    } catch {
      /* dir does not exist yet */
    }
    if (empty) fs.rmdirSync(abs);
    if (!fs.existsSync(abs)) fs.renameSync(staging, abs);
    else moveInto(staging, abs, o.last);
    fsyncDir(parent);
  } catch (err) {
    throw err instanceof WriteError ? err : wrapError(abs, err);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}


/**
 * Appends one line (a newline added) to `file` in a single write: opened O_APPEND (each write lands at
 * the end, even with another writer), all its bytes written, then fdatasync'ed, so a process killed at
 * any moment leaves the file ending in a whole line. A symlink at `file` is refused (O_NOFOLLOW).
 * Throws a WriteError naming the file.
 */
export function appendLineSync(file: string, line: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o644);
    writeAll(fd, Buffer.from(line.endsWith('\n') ? line : `${line}\n`, 'utf8'));
    fs.fdatasyncSync(fd);
  } catch (err) {
    throw wrapError(file, err);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
