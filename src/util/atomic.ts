/**
 * Crash-safe file writes.
 *
 * A plain `fs.writeFile` truncates the target first, so a run killed mid-write (OOM, Ctrl-C, power
 * loss) leaves a half-written `last.ckpt` and destroys the previous good one. Here the bytes go to a
 * temp file in the SAME directory (rename is only atomic within one filesystem), the temp file is
 * fsync'ed (data on disk before the name points at it), then renamed over the target; finally the
 * directory is fsync'ed so the rename itself survives a power loss. A reader therefore sees either
 * the old file or the new one, never a mix. Parent directories are created as needed.
 *
 * The temp-file / fsync / rename / cleanup-on-error part is write-file-atomic's; this module adds
 * `mkdir -p`, Uint8Array input without a copy, the directory fsync and error messages naming the file.
 */
import * as fs from 'fs';
import * as path from 'path';
import writeFileAtomicLib from 'write-file-atomic';

/** View a Uint8Array as a Buffer over the same memory (no copy); strings pass through. */
function asBufferOrString(data: Uint8Array | string): Buffer | string {
  if (typeof data === 'string') return data;
  if (Buffer.isBuffer(data)) return data;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * fsync the directory so the new directory entry (the rename) is durable. Best effort: some
 * platforms (Windows) and filesystems refuse to open or fsync a directory; the file itself is
 * already fsync'ed by then, so we ignore those errors.
 */
function fsyncDirSync(dir: string): void {
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

function wrapError(file: string, err: unknown): Error {
  const e = err as NodeJS.ErrnoException;
  const hint =
    e?.code === 'ENOSPC'
      ? 'the disk is full: free space or point the output somewhere else'
      : e?.code === 'EACCES' || e?.code === 'EPERM'
        ? 'permission denied: check that the output directory is writable'
        : e?.code === 'EROFS'
          ? 'the filesystem is read-only: choose a writable output directory'
          : 'check the path and that the directory is writable';
  const out = new Error(`could not write ${file} atomically (${e?.code ?? 'error'}: ${e?.message ?? String(err)}); ${hint}. The previous version of the file, if any, is untouched.`);
  (out as NodeJS.ErrnoException).code = e?.code;
  (out as Error & { cause?: unknown }).cause = err;
  return out;
}

/**
 * Atomically replace `file` with `data` (temp file in the same directory + fsync + rename),
 * creating parent directories. Strings are written as UTF-8.
 */
export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  try {
    await fs.promises.mkdir(dir, { recursive: true });
    await writeFileAtomicLib(file, asBufferOrString(data), { fsync: true, encoding: 'utf8' });
  } catch (err) {
    throw wrapError(file, err);
  }
  fsyncDirSync(dir);
}

/** Synchronous twin of {@link writeFileAtomic}, for exit handlers and simple scripts. */
export function writeFileAtomicSync(file: string, data: Uint8Array | string): void {
  const dir = path.dirname(path.resolve(file));
  try {
    fs.mkdirSync(dir, { recursive: true });
    writeFileAtomicLib.sync(file, asBufferOrString(data), { fsync: true, encoding: 'utf8' });
  } catch (err) {
    throw wrapError(file, err);
  }
  fsyncDirSync(dir);
}
