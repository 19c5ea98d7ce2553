/**
 * A folder on a full disk, for fault-injection tests: a 1 MiB tmpfs where this process may mount one
 * (root with CAP_SYS_ADMIN, as on the CI machines), else a folder whose writes fail with ENOSPC once
 * 1 MiB has been written to it (the injected failure: fs.writeSync patched for paths inside it).
 * `preload` is a `node -r` module doing the same for a child process (MELSEG_FULL_DISK=<dir>).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const FULL_DISK_BYTES = 1024 * 1024;
export const preload = path.join(__dirname, 'full-disk-preload.js');

function tryMount(dir: string): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${FULL_DISK_BYTES}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs `fn` with a folder whose disk holds about 1 MiB; `mode` says which kind it got. */
export async function withFullDisk<T>(fn: (dir: string, mode: 'tmpfs' | 'injected') => Promise<T> | T): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-full-'));
  const mounted = tryMount(dir);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const restore = mounted ? () => undefined : require('./full-disk-preload.js').install(dir);
  try {
    return await fn(dir, mounted ? 'tmpfs' : 'injected');
  } finally {
    restore();
    if (mounted) execFileSync('umount', [dir], { stdio: 'ignore' });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Env and node flags that make a child process's n-th write of a file whose path contains `needle` fail with ENOSPC. */
export function failingWriteEnv(needle: string, n: number): { env: NodeJS.ProcessEnv; nodeArgs: string[] } {
  return { env: { ...process.env, MELSEG_FAIL_WRITE: `${needle}:${n}` }, nodeArgs: ['-r', preload] };
}

/** Env and node flags that make a child process send itself `signal` when it opens, for the n-th time, a path containing `needle`. */
export function signalAtEnv(needle: string, n: number, signal: NodeJS.Signals = 'SIGKILL'): { env: NodeJS.ProcessEnv; nodeArgs: string[] } {
  return { env: { ...process.env, MELSEG_SIGNAL_AT: `${needle}:${n}:${signal}` }, nodeArgs: ['-r', preload] };
}
