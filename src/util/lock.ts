/**
 * An exclusive lock on a folder for the life of a process: `<dir>/.lock/` (mkdir is atomic, also on
 * network filesystems) holding `owner.json` {pid, host, since}. The owner touches the folder every
 * HEARTBEAT_MS. Another process takes the lock over only when the owner is gone:
 *   same host:  its pid no longer exists (a kill -9 is noticed at once);
 *   other host: the heartbeat is older than STALE_MS (a crashed machine is noticed after that).
 * So a crash never leaves a run folder locked for good, and two live processes never share one.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { alive } from './atomic';

export const HEARTBEAT_MS = 5_000;
export const STALE_MS = 30_000;

interface Owner {
  pid: number;
  host: string;
  since: string;
}

export class LockedError extends Error {
  constructor(readonly dir: string, readonly owner: Owner | null, message: string) {
    super(message);
    this.name = 'LockedError';
  }
}

function readOwner(lockDir: string): Owner | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(lockDir, 'owner.json'), 'utf8')) as Owner;
  } catch {
    return null;
  }
}

/** Whether the lock's owner is gone (see the header). A lock without an owner file is fresh for STALE_MS. */
function abandoned(lockDir: string): boolean {
  const owner = readOwner(lockDir);
  if (owner && owner.host === os.hostname()) return owner.pid !== process.pid && !alive(owner.pid);
  let age: number;
  try {
    age = Date.now() - fs.statSync(lockDir).mtimeMs;
  } catch {
    return true;
  }
  return age > STALE_MS;
}

export interface FolderLock {
  release(): void;
}

/**
 * Take `dir`'s lock or throw a LockedError naming the process that holds it. `what` names the folder's
 * role in the message (e.g. "run folder").
 */
export function lockFolder(dir: string, what: string): FolderLock {
  fs.mkdirSync(dir, { recursive: true });
  const lockDir = path.join(dir, '.lock');
  for (let attempt = 0; ; attempt++) {
    try {
      fs.mkdirSync(lockDir);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (attempt < 2 && abandoned(lockDir)) {
        fs.rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      const o = readOwner(lockDir);
      const who = o ? `process ${o.pid} on ${o.host}, since ${o.since}` : 'another process';
      throw new LockedError(
        dir,
        o,
        `${what} ${dir} is in use by ${who}. Wait for it to finish (or stop it), or use another --out / --run-id. ` +
          `If that process is gone, the lock frees itself within ${STALE_MS / 1000} s.`,
      );
    }
  }
  const owner: Owner = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
  fs.writeFileSync(path.join(lockDir, 'owner.json'), JSON.stringify(owner));
  const beat = setInterval(() => {
    const now = new Date();
    try {
      fs.utimesSync(lockDir, now, now);
    } catch {
      /* the folder was removed under us: nothing to keep fresh */
    }
  }, HEARTBEAT_MS);
  beat.unref();
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      clearInterval(beat);
      if (readOwner(lockDir)?.pid === process.pid) fs.rmSync(lockDir, { recursive: true, force: true });
    },
  };
}
