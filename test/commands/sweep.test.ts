/**
 * The compiled CLI: two shards of a sweep running at once (one of them killed with SIGKILL and re-run),
 * merged with `melseg merge`, give the rows of one unsharded sweep; `melseg chart` draws them.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ChildProcess } from 'child_process';
import { readResults, ResultRow, sortRows } from '../../src/report/results';
import { runSweep } from '../../src/sweep';
import { ensureBuilt, melseg, melsegAsync } from '../helpers/cli';
import { failingWriteEnv, signalAtEnv } from '../helpers/full-disk';

const SWEEP = ['--models', '0-1', '--losses', '2,3', '--data', 'synthetic:12', '--epochs', '2', '--batch-size', '6', '--image-size', '32', '--width', '0.0625', '--seed', '5', '--workers', '0', '--quiet'];

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-sweepcli-'));
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

/** Resolves once `file` holds at least one result row. */
function firstRow(file: string, timeoutMs = 60000): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const poll = setInterval(() => {
      let n = 0;
      try {
        n = fs.existsSync(file) ? readResults(file).length : 0;
      } catch {
        /* mid-rename: try again */
      }
      if (n >= 1) {
        clearInterval(poll);
        resolve();
      } else if (Date.now() - t0 > timeoutMs) {
        clearInterval(poll);
        reject(new Error(`${file} got no row in ${timeoutMs} ms`));
      }
    }, 20);
  });
}

const strip = (rows: ResultRow[]) => sortRows(rows).map(({ seconds, images_per_s, ...rest }) => rest);

describe('melseg sweep / merge / chart (compiled CLI)', () => {
  beforeAll(() => ensureBuilt(), 180000);

  const cwd = tmp(); // graphs/ of the children go here
  const out = path.join(cwd, 'sw');

  test('two shards at once (one killed -9 and re-run), merged, equal one unsharded sweep; chart draws them', async () => {
    const single = tmp();
    const unsharded = runSweep({
      models: '0-1', losses: '2,3', data: 'synthetic:12', epochs: 2, batchSize: 6, imageSize: 32, width: 0.0625, seed: 5, workers: 0,
      out: single, graphsDir: path.join(single, 'graphs'), cacheDir: null, charts: false, progress: false, log: () => undefined,
    });
    // shard 0 is killed -9 while it writes its 3rd last.ckpt (its second run's first epoch)
    const s0 = melsegAsync(['sweep', ...SWEEP, '--out', out, '--shard', '0/2'], { cwd, ...signalAtEnv('/.last.ckpt.', 3) });
    const s1 = melsegAsync(['sweep', ...SWEEP, '--out', out, '--shard', '1/2'], cwd);
    const s0done = exited(s0);
    const s1done = exited(s1);
    expect((await s0done).signal).toBe('SIGKILL');
    expect(readResults(path.join(out, 'results.shard-0-of-2.csv'))).toHaveLength(2);
    const rerun = await exited(melsegAsync(['sweep', ...SWEEP, '--out', out, '--shard', '0/2'], cwd));
    expect(rerun.stderr).not.toMatch(/Error/);
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toMatch(/shard 0\/2: resuming the sweep started/);
    expect(rerun.stdout).toMatch(/melseg merge --results/);
    const r1 = await s1done;
    expect(r1.stderr).not.toMatch(/Error/);
    expect(r1.code).toBe(0);
    expect(r1.stdout).toMatch(/sweep 2\/2 UNet x focal_loss \| epoch 2\/2 \| elapsed \S+ \| done/);
    expect(fs.existsSync(path.join(out, 'curves.png'))).toBe(false); // shards leave charting to `melseg chart`

    const merged = path.join(out, 'results.csv');
    const m = melseg(['merge', '--results', path.join(out, 'results.shard-0-of-2.csv'), path.join(out, 'results.shard-1-of-2.csv'), '--out', merged], cwd);
    expect(m.stderr).toBe('');
    expect(m.stdout).toMatch(/merged 2 file\(s\), 8 rows -> 8 rows \(0 duplicate\(s\) dropped\), 4 combinations/);
    await unsharded;
    const rows = readResults(merged);
    expect(new Set(rows.map((r) => `${r.run}#${r.epoch}`)).size).toBe(8);
    expect(strip(rows)).toEqual(strip(readResults(path.join(single, 'results.csv'))));

    const charts = path.join(cwd, 'charts');
    const c = melseg(['chart', '--results', merged, '--out', charts], cwd);
    expect(c.stderr).toBe('');
    expect(c.stdout).toMatch(/8 rows, 4 combinations, 4 prediction grid\(s\)/); // grids found in sw/artifacts
    for (const f of ['curves.png', 'curves_top.png', 'metrics.png', 'report.html']) {
      expect(c.stdout).toContain(path.join(charts, f));
      expect(fs.statSync(path.join(charts, f)).size).toBeGreaterThan(1000);
    }
  });

  test('chart reads several CSVs into the folder of the first by default', () => {
    const c = melseg(['chart', '--results', path.join(out, 'results.shard-0-of-2.csv'), '--results', path.join(out, 'results.shard-1-of-2.csv'), '--top', '2'], cwd);
    expect(c.stderr).toBe('');
    expect(c.stdout).toMatch(/8 rows, 4 combinations, 4 prediction grid/);
    expect(fs.existsSync(path.join(out, 'curves_top.png'))).toBe(true);
  });

  test('merge on a disk that fills up: exit 1 naming the file, the earlier merged CSV intact, no temp file', () => {
    const merged = path.join(out, 'results.csv');
    const before = fs.readFileSync(merged);
    const shards = [path.join(out, 'results.shard-0-of-2.csv'), path.join(out, 'results.shard-1-of-2.csv')];
    const r = melseg(['merge', '--results', merged, ...shards.flatMap((f) => ['--results', f]), '--out', merged], { cwd, ...failingWriteEnv(`${out}/.results.csv.`, 1) });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/could not write .*results\.csv \(ENOSPC: .*the disk is full.*untouched/);
    expect(fs.readFileSync(merged).equals(before)).toBe(true);
    expect(fs.readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  test('missing results files are named, with how to produce one', () => {
    const c = melseg(['chart', '--results', 'nope/results.csv'], cwd);
    expect(c.status).not.toBe(0);
    expect(c.stderr).toMatch(/results file nope\/results\.csv not found/);
    expect(c.stderr).toMatch(/melseg train/);
    expect(c.stderr).toMatch(/melseg sweep/);
    const m = melseg(['merge', '--results', path.join(out, 'results.shard-0-of-2.csv'), 'gone.csv', '--out', 'x.csv'], cwd);
    expect(m.status).not.toBe(0);
    expect(m.stderr).toMatch(/gone\.csv not found/);
  });

  test('bad --models / --shard and a missing --data are clear errors', () => {
    const a = melseg(['sweep', '--models', '0-7', '--data', 'synthetic:12'], cwd);
    expect(a.status).not.toBe(0);
    expect(a.stderr).toMatch(/range 0-7 goes past the last model, 4/);
    expect(a.stderr).toMatch(/3 {2}UNet_dilate\n\s+4 {2}EGE-UNet/);
    const b = melseg(['sweep', '--shard', '2/2', '--data', 'synthetic:12'], cwd);
    expect(b.stderr).toMatch(/--shard "2\/2": i must be below n/);
    const c = melseg(['sweep', '--models', '1'], cwd);
    expect(c.stderr).toMatch(/--data is required/);
  });
});
