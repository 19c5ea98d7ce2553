/**
 * End-to-end sweeps on tiny synthetic data (32 px, width 1/16): the whole grid, an interrupted sweep
 * resumed twice, lost CSV rows restored from checkpoints, --new-dataframe only at a sweep's start.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { formatResultsCsv, readResults, ResultRow, sortRows } from '../../src/report/results';
import { runSweep, SweepOptions } from '../../src/sweep';
import { RECIPES } from '../../src/train/recipe';

const GRAPHS = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-sweep-graphs-'));
const BASE: SweepOptions = {
  models: '0-1',
  losses: 'dice_loss,bce_loss',
  data: 'synthetic:12',
  epochs: 2,
  batchSize: 6,
  imageSize: 32,
  width: 1 / 16,
  seed: 3,
  workers: 0,
  cacheDir: null,
  graphsDir: GRAPHS,
  progress: false,
  log: () => undefined,
};

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-sweep-'));
}

/** Rows without the wall-time columns, in study order. */
const strip = (rows: ResultRow[]) => sortRows(rows).map(({ seconds, images_per_s, ...rest }) => rest);
const keys = (rows: ResultRow[]) => rows.map((r) => `${r.run}#${r.epoch}`);

describe('runSweep', () => {
  const whole = tmp();
  let wholeRows: ResultRow[] = [];

  test('runs every model x loss with one split, one CSV, checkpoints and charts; a re-run skips them all', async () => {
    const lines: string[] = [];
    const r = await runSweep({ ...BASE, out: whole, status: (s) => lines.push(s) });
    expect(r.complete).toBe(true);
    expect(r.interrupted).toBe(false);
    expect(r.runs.map((x) => [x.model, x.loss, x.outcome])).toEqual([
      ['SegNet', 'bce_loss', 'trained'],
      ['SegNet', 'dice_loss', 'trained'],
      ['UNet', 'bce_loss', 'trained'],
      ['UNet', 'dice_loss', 'trained'],
    ]);
    wholeRows = readResults(path.join(whole, 'results.csv'));
    expect(wholeRows).toHaveLength(8);
    expect(new Set(keys(wholeRows)).size).toBe(8);
    // one split for all, saved with the sweep and used by every run
    const split = fs.readFileSync(path.join(whole, 'sweep_split.json'), 'utf8');
    for (const run of r.runs) expect(fs.readFileSync(path.join(whole, 'artifacts', run.runId, 'split.json'), 'utf8')).toBe(split);
    // charts, with every run's prediction grid in the report
    for (const f of ['curves.png', 'curves_top.png', 'metrics.png', 'report.html']) expect(fs.statSync(path.join(whole, f)).size).toBeGreaterThan(1000);
    const html = fs.readFileSync(path.join(whole, 'report.html'), 'utf8');
    for (const run of r.runs) expect(html).toContain(`${run.model} + ${run.loss}`);
    // progress lines across the sweep
    expect(lines).toContainEqual(expect.stringMatching(/^sweep 3\/4 UNet x bce_loss \| epoch 1\/2 \| elapsed \S+ \| ETA \S+ \(3 epochs left\)$/));
    expect(JSON.parse(fs.readFileSync(r.stateFile, 'utf8')).status).toBe('complete');

    const again = await runSweep({ ...BASE, out: whole });
    expect(again.runs.map((x) => x.outcome)).toEqual(['skipped', 'skipped', 'skipped', 'skipped']);
    expect(readResults(path.join(whole, 'results.csv'))).toEqual(wholeRows);
  });

  test('interrupted mid-run, then after one more run, then resumed: the same rows as one uninterrupted sweep', async () => {
    const out = tmp();
    // an older CSV: --new-dataframe 1 moves it aside when the sweep starts...
    const csv = path.join(out, 'results.csv');
    fs.writeFileSync(csv, formatResultsCsv([{ ...wholeRows[0], run: 'older', metric: 0.123 }]));
    const a = await runSweep({ ...BASE, out, newDataframe: true, stopAfterEpochs: 3 });
    expect(a.interrupted).toBe(true);
    expect(a.backup).toMatch(/results\.csv\..*\.bak$/);
    expect(readResults(csv)).toHaveLength(3);
    // ...but not when the interrupted sweep is re-run with the same flags
    const b = await runSweep({ ...BASE, out, newDataframe: true, stopAfterCombinations: 1 });
    expect(b.resumedSweep).toBe(true);
    expect(b.backup).toBeNull();
    expect(b.runs.map((x) => x.outcome)).toEqual(['skipped', 'resumed', 'not run', 'not run']);
    const c = await runSweep({ ...BASE, out, newDataframe: true });
    expect(c.resumedSweep).toBe(true);
    expect(c.complete).toBe(true);
    expect(c.runs.map((x) => x.outcome)).toEqual(['skipped', 'skipped', 'trained', 'trained']);
    expect(fs.readdirSync(out).filter((f) => f.endsWith('.bak'))).toHaveLength(1);
    const rows = readResults(csv);
    expect(new Set(keys(rows)).size).toBe(rows.length);
    expect(strip(rows)).toEqual(strip(wholeRows));
  });

  test('rows lost from the CSV after a run finished are restored from its checkpoint', async () => {
    const csv = path.join(whole, 'results.csv');
    fs.writeFileSync(csv, formatResultsCsv(wholeRows.slice(0, 3)));
    const r = await runSweep({ ...BASE, out: whole, charts: false });
    expect(r.runs.every((x) => x.outcome === 'skipped')).toBe(true);
    expect(sortRows(readResults(csv))).toEqual(sortRows(wholeRows)); // timings too: they come from the history
  });

  test('a run killed after its last rows (no history.json, no test score, a stale lock, an orphan temp file) is completed by the re-run, then skipped', async () => {
    const out = tmp();
    const o: SweepOptions = { ...BASE, models: '1', losses: 'dice_loss', evaluate: true, charts: false, out };
    const first = await runSweep(o);
    const run = path.join(out, 'artifacts', first.runs[0].runId);
    const rows = readResults(path.join(out, 'results.csv'));
    // the per-image CSV, its summary and its failure gallery
    expect(fs.readdirSync(run).filter((f) => f.startsWith('eval_')).sort()).toEqual(['eval_test.csv', 'eval_test.summary.json', 'eval_test_worst.png']);
    // what kill -9 right after the last results row leaves (the sweep state still says 'started')
    const dead = 2 ** 22 + 4321; // above Linux's pid_max default: no such process
    for (const f of ['history.json', 'eval_test.csv']) fs.rmSync(path.join(run, f));
    fs.mkdirSync(path.join(run, '.lock'));
    fs.writeFileSync(path.join(run, '.lock', 'owner.json'), JSON.stringify({ pid: dead, host: os.hostname(), since: new Date().toISOString() }));
    const orphan = `.last.ckpt.${dead}.0badf00d.tmp`;
    fs.writeFileSync(path.join(run, orphan), Buffer.alloc(4096));
    const state = JSON.parse(fs.readFileSync(first.stateFile, 'utf8'));
    fs.writeFileSync(first.stateFile, JSON.stringify({ ...state, status: 'running', runs: { [first.runs[0].runId]: 'started' } }));

    const lines: string[] = [];
    const again = await runSweep({ ...o, log: (l) => lines.push(l) });
    expect(again.complete).toBe(true);
    expect(again.runs.map((x) => x.outcome)).toEqual(['completed']);
    expect(lines.join('\n')).toContain(`${first.runs[0].runId} trained all its epochs but lacks history.json and its test score: completing it`);
    const left = fs.readdirSync(run);
    expect(left).toEqual(expect.arrayContaining(['history.json', 'eval_test.csv', 'best.ckpt', 'last.ckpt']));
    expect(left.filter((f) => f.startsWith('.'))).toEqual([]); // no .lock, no orphan temp file
    expect(strip(readResults(path.join(out, 'results.csv')))).toEqual(strip(rows)); // no epoch retrained or duplicated
    // and now it is finished: the next re-run skips it, and still tidies a stale lock and orphan temp file
    fs.mkdirSync(path.join(run, '.lock'));
    fs.writeFileSync(path.join(run, '.lock', 'owner.json'), JSON.stringify({ pid: dead, host: os.hostname(), since: new Date().toISOString() }));
    fs.writeFileSync(path.join(run, orphan), 'x');
    expect((await runSweep(o)).runs.map((x) => x.outcome)).toEqual(['skipped']);
    expect(fs.readdirSync(run).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  test('another recipe in the same folder is refused; --new-dataframe 1 starts a new sweep that retrains', async () => {
    const lr = RECIPES.melseg.lr;
    await expect(runSweep({ ...BASE, out: whole, lr: 2 * lr })).rejects.toThrow(new RegExp(`records a different sweep .*lr: ${lr} -> ${2 * lr}.*--new-dataframe 1`));
    const r = await runSweep({ ...BASE, out: whole, models: '0', losses: '2', newDataframe: true, charts: false });
    expect(r.backup).not.toBeNull();
    expect(r.runs.map((x) => x.outcome)).toEqual(['trained']);
    expect(strip(readResults(path.join(whole, 'results.csv')))).toEqual(strip(wholeRows.filter((x) => x.model === 'SegNet' && x.criterion === 'dice_loss')));
  });
});
