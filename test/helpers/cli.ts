/** Run the compiled CLI (bin/run.js -> dist/) in tests, compiling first when dist/ is older than src/. */
import { execFileSync, spawn, spawnSync, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'run.js');

function newest(dir: string): number {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

let built = false;
export function ensureBuilt(): void {
  if (built) return;
  const dist = path.join(ROOT, 'dist');
  if (!fs.existsSync(dist) || newest(dist) < newest(path.join(ROOT, 'src'))) {
    // from scratch: a stale dist/x.js would shadow a new folder dist/x/ for require('./x')
    fs.rmSync(dist, { recursive: true, force: true });
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'tsconfig.json')], { stdio: 'inherit' });
  }
  built = true;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** node flags before the script, e.g. ['-r', preload] */
  nodeArgs?: string[];
}

/**
 * Jest gives each test file its own copy of process.env (where test/setup-env.js puts MELSEG_CACHE_DIR);
 * a child spawned without `env` would inherit the real one and build graphs in the user's cache.
 */
export function melseg(args: string[], o: RunOptions | string = {}): { status: number | null; stdout: string; stderr: string } {
  ensureBuilt();
  const { cwd = ROOT, env = process.env, nodeArgs = [] } = typeof o === 'string' ? { cwd: o } : o;
  const r = spawnSync(process.execPath, [...nodeArgs, BIN, ...args], { cwd, env, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function melsegAsync(args: string[], o: RunOptions | string = {}): ChildProcess {
  ensureBuilt();
  const { cwd = ROOT, env = process.env, nodeArgs = [] } = typeof o === 'string' ? { cwd: o } : o;
  return spawn(process.execPath, [...nodeArgs, BIN, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Resolves when `predicate` holds (polled every 20 ms); rejects after `ms`. */
export function waitFor(predicate: () => boolean, what: string, ms = 120000): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const poll = setInterval(() => {
      if (predicate()) {
        clearInterval(poll);
        resolve();
      } else if (Date.now() - t0 > ms) {
        clearInterval(poll);
        reject(new Error(`${what} did not happen within ${ms / 1000} s`));
      }
    }, 20);
  });
}
