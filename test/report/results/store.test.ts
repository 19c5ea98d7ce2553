import * as fs from 'fs';
import * as path from 'path';
import {
  appendResults,
  checkResultsFile,
  formatResultsCsv,
  mergeResults,
  readResults,
  removeRun,
  sortRows,
  startFresh,
  upsertRunRows,
} from '../../../src/report/results';
import { fakeResults } from '../fixtures';
import { row, spawnTsNode, tempDir, unwritableDir, waitExit } from '../helpers';
import { melseg, waitFor } from '../../helpers/cli';

let dir: string;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const APPEND_ONE = `
const { appendResults } = require(SRC + '/results');
const t0 = Date.now();
appendResults(ARGS.file, [{ train_loss: 0.1, valid_loss: 0.2, metric: 0.3, model: 'UNet', criterion: 'dice_loss',
  epoch: 1, lr: 0.001, seconds: 1, images_per_s: 2, run: 'x' }])
  .then(() => console.log('written'), (e) => { console.error(e.message); console.log('ms ' + (Date.now() - t0)); process.exit(2); });`;

describe('appendResults', () => {
  test('creates the file (and its folder) with the header, then appends after existing rows', async () => {
    const file = path.join(dir, 'sub', 'results.csv');
    await appendResults(file, [row({ epoch: 1 })]);
    await appendResults(file, [row({ epoch: 2, metric: NaN }), row({ epoch: 3 })]);
    expect(fs.readFileSync(file, 'utf8')).toBe(formatResultsCsv([row({ epoch: 1 }), row({ epoch: 2, metric: NaN }), row({ epoch: 3 })]));
  });

  test('many concurrent appends in one process lose no row and leave no lock behind', async () => {
    const file = path.join(dir, 'results.csv');
    await Promise.all(Array.from({ length: 40 }, (_, i) => appendResults(file, [row({ epoch: i + 1 })])));
    const rows = readResults([file]);
    expect(rows.map((r) => r.epoch).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(fs.existsSync(file + '.lock')).toBe(false);
  });

  test('two processes appending at once lose no row', async () => {
    const file = path.join(dir, 'results.csv');
    const script = `
const { appendResults } = require(SRC + '/results');
(async () => {
  for (let e = 1; e <= ARGS.n; e++) {
    await appendResults(ARGS.file, [{ train_loss: 0.1, valid_loss: 0.2, metric: 0.3, model: 'UNet', criterion: 'dice_loss',
      epoch: e, lr: 0.001, seconds: 1, images_per_s: 2, run: ARGS.run }]);
  }
})().catch((e) => { console.error(e); process.exit(1); });`;
    const n = 25;
    const results = await Promise.all(['p1', 'p2'].map((run) => waitExit(spawnTsNode(script, { file, n, run }))));
    for (const r of results) expect(r).toMatchObject({ code: 0, stderr: '' });
    const rows = readResults([file]);
    expect(rows).toHaveLength(2 * n);
    for (const run of ['p1', 'p2']) {
      // Each process appends sequentially, so its own rows keep their order.
      expect(rows.filter((r) => r.run === run).map((r) => r.epoch)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    }
  });

  test('killing an appender mid-stream (SIGKILL) leaves a parseable file holding a prefix of its rows', async () => {
    const file = path.join(dir, 'results.csv');
    const script = `
const { appendResults } = require(SRC + '/results');
(async () => {
  for (let e = 1; ; e++) {
    await appendResults(ARGS.file, [{ train_loss: 0.1, valid_loss: 0.2, metric: 0.3, model: 'UNet', criterion: 'dice_loss',
      epoch: e, lr: 0.001, seconds: 1, images_per_s: 2, run: 'k' }]);
    if (e === 5) console.log('ready');
  }
})();`;
    const child = spawnTsNode(script, { file });
    const exited = waitExit(child);
    await new Promise<void>((resolve) => child.stdout!.on('data', (d) => String(d).includes('ready') && resolve()));
    await new Promise((r) => setTimeout(r, 150));
    child.kill('SIGKILL');
    expect((await exited).signal).toBe('SIGKILL');
    const epochs = readResults([file]).map((r) => r.epoch);
    expect(epochs.length).toBeGreaterThanOrEqual(5);
    expect(epochs).toEqual(Array.from({ length: epochs.length }, (_, i) => i + 1));
  });

  test('a file with a foreign header is refused with fixes a user can type, not a function call', async () => {
    const file = path.join(dir, 'other.csv');
    fs.writeFileSync(file, 'a,b\n1,2\n');
    const err = await appendResults(file, [row()]).then(
      () => null,
      (e: Error) => e.message,
    );
    expect(err).toContain(`results file ${file} has header 'a,b'; expected 'train_loss,valid_loss,metric,model,criterion,epoch,lr,seconds,images_per_s,run'.`);
    expect(err).toContain(`\n  mv ${file} ${file}.old\n`);
    expect(err).toContain('--new-dataframe 1');
    expect(err).not.toMatch(/\w+\(\[?file/); // no "mergeResults([file], file)" or "startFresh(file)"
    expect(fs.readFileSync(file, 'utf8')).toBe('a,b\n1,2\n');
  });

  test("an older layout with the study's columns: the suggested melseg merge command converts it, then appends work", async () => {
    const file = path.join(dir, 'study.csv');
    fs.writeFileSync(file, ',train_loss,valid_loss,metric,model,criterion,epoch\n0,0.5,0.6,0.7,UNet,dice_loss,1\n');
    const err = await appendResults(file, [row({ epoch: 2 })]).then(
      () => '',
      (e: Error) => e.message,
    );
    const command = /melseg merge --results \S+ --out \S+/.exec(err);
    expect(command).not.toBeNull();
    const args = command![0].split(' ').slice(1);
    const r = melseg(args);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    await appendResults(file, [row({ epoch: 2 })]);
    expect(readResults(file).map((x) => [x.model, x.criterion, x.epoch, x.metric])).toEqual([
      ['UNet', 'dice_loss', 1, 0.7],
      ['UNet', 'dice_loss', 2, 0.7],
    ]);
  });
});

describe('failures of the folder are reported at once, not after lock retries', () => {
  test('a results path under a file (ENOTDIR) fails in well under a second, naming the file', async () => {
    fs.writeFileSync(path.join(dir, 'plain'), 'x');
    const file = path.join(dir, 'plain', 'results.csv');
    const t0 = Date.now();
    await expect(appendResults(file, [row()])).rejects.toThrow(
      /cannot append to results file .*plain\/results\.csv: its folder cannot be created \((EEXIST|ENOTDIR).*a part of the path is a file, not a folder/,
    );
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  test('an unwritable results folder fails without retrying the lock, with what to do', async () => {
    const { dir: ro, spawnAs } = unwritableDir(dir);
    const file = path.join(ro, 'results.csv');
    const r = await waitExit(spawnTsNode(APPEND_ONE, { file }, spawnAs));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cannot append to results file ${file}: EACCES creating ${file}.lock`);
    expect(r.stderr).toMatch(/make it writable \(chmod u\+w\) or write the results elsewhere with --out DIR/);
    // The old behaviour retried for ~70 s; a fail-fast lock answers in well under that even on a busy machine.
    expect(Number(/ms (\d+)/.exec(r.stdout)![1])).toBeLessThan(5000);
    expect(fs.existsSync(file)).toBe(false);
  });

  test('merge into an unwritable folder suggests --out FILE (merge\'s --out is a file), not --out DIR', async () => {
    const { dir: ro, spawnAs } = unwritableDir(dir);
    const input = path.join(dir, 'in.csv');
    await appendResults(input, [row()]);
    fs.chmodSync(input, 0o644);
    const out = path.join(ro, 'merged.csv');
    const script = `require(SRC + '/results').mergeResults([ARGS.input], ARGS.out).then(() => console.log('merged'), (e) => { console.error(e.message); process.exit(2); });`;
    const r = await waitExit(spawnTsNode(script, { input, out }, spawnAs));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cannot merge into results file ${out}: EACCES creating ${out}.lock`);
    expect(r.stderr).toContain("write the results elsewhere with --out FILE (merge's --out is the merged CSV");
    expect(r.stderr).not.toContain('--out DIR');
  });

  test('contention is still waited out: a lock held by another process is taken once released', async () => {
    const file = path.join(dir, 'results.csv');
    const lockDir = `${file}.lock`;
    fs.mkdirSync(lockDir);
    setTimeout(() => fs.rmdirSync(lockDir), 400);
    await appendResults(file, [row()]);
    expect(readResults(file)).toHaveLength(1);
  });
});

describe('checkResultsFile (before training)', () => {
  test('passes for a missing file in a new folder and for a good file', async () => {
    const file = path.join(dir, 'new', 'results.csv');
    expect(() => checkResultsFile(file)).not.toThrow();
    await appendResults(file, [row()]);
    expect(() => checkResultsFile(file)).not.toThrow();
  });

  test('a foreign header: names the file and gives a typeable fix', () => {
    const file = path.join(dir, 'results.csv');
    fs.writeFileSync(file, 'image,score\nx.png,1\n');
    expect(() => checkResultsFile(file)).toThrow(new RegExp(`results file ${file} has header 'image,score'[^]*\n  mv ${file} ${file}\\.old\n[^]*--out DIR`));
  });

  test('a malformed line: names the file and the line', () => {
    const file = path.join(dir, 'results.csv');
    fs.writeFileSync(file, formatResultsCsv([row()]) + '0.1,0.2\n');
    expect(() => checkResultsFile(file)).toThrow(`${file}:3: expected 10 fields (as in the header); found 2`);
  });

  test('an unwritable folder: names the file and what to do', async () => {
    const { dir: ro, spawnAs } = unwritableDir(dir);
    const file = path.join(ro, 'results.csv');
    const script = `try { require(SRC + '/results').checkResultsFile(ARGS.file); console.log('passed'); } catch (e) { console.error(e.message); process.exit(2); }`;
    const r = await waitExit(spawnTsNode(script, { file }, spawnAs));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cannot write results file ${file}: results folder ${ro} is not writable (EACCES`);
    expect(r.stderr).toContain('--out DIR');
  });
});

describe('startFresh, upsertRunRows, removeRun', () => {
  test('startFresh moves the old file to <file>.<timestamp>.bak and the next append starts a new file', async () => {
    const file = path.join(dir, 'results.csv');
    expect(await startFresh(file)).toBeNull();
    await appendResults(file, [row({ epoch: 1 }), row({ epoch: 2 })]);
    const before = fs.readFileSync(file, 'utf8');
    const bak = await startFresh(file);
    expect(bak).toMatch(/results\.csv\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z(-\d+)?\.bak$/);
    expect(fs.readFileSync(bak!, 'utf8')).toBe(before);
    expect(fs.existsSync(file)).toBe(false);
    await appendResults(file, [row({ epoch: 7 })]);
    expect(readResults([file]).map((r) => r.epoch)).toEqual([7]);
    // A second fresh start never overwrites the first backup (a -k suffix if the timestamps collide).
    const bak2 = await startFresh(file);
    expect(bak2).not.toBe(bak);
    expect(readResults([bak!])).toHaveLength(2);
  });

  test('upsertRunRows replaces only that run, without duplicates, and moves it last', async () => {
    const file = path.join(dir, 'results.csv');
    await appendResults(file, [row({ run: 'a', epoch: 1 }), row({ run: 'a', epoch: 2 }), row({ run: 'b', epoch: 1, criterion: 'bce_loss' })]);
    // Resume: epochs 1..3 again (1-2 recomputed from the checkpoint log), with blank run ids filled in.
    await upsertRunRows(file, 'a', [1, 2, 3].map((e) => row({ run: '', epoch: e, metric: [0.81, 0.82, 0.83][e - 1] })));
    const rows = readResults([file]);
    expect(rows.map((r) => `${r.run}:${r.epoch}`)).toEqual(['b:1', 'a:1', 'a:2', 'a:3']);
    expect(rows.filter((r) => r.run === 'a').map((r) => r.metric)).toEqual([0.81, 0.82, 0.83]);
    // Upserting the same rows again is idempotent.
    await upsertRunRows(file, 'a', [1, 2, 3].map((e) => row({ run: 'a', epoch: e, metric: [0.81, 0.82, 0.83][e - 1] })));
    expect(readResults([file])).toEqual(rows);
    await expect(upsertRunRows(file, 'a', [row({ run: 'z' })])).rejects.toThrow(/row 0 has run "z"; expected "a"/);
  });

  test('removeRun deletes only that run and reports the count', async () => {
    const file = path.join(dir, 'results.csv');
    await appendResults(file, [row({ run: 'a' }), row({ run: 'b' }), row({ run: 'a', epoch: 2 })]);
    expect(await removeRun(file, 'a')).toBe(2);
    expect(await removeRun(file, 'a')).toBe(0);
    expect(readResults([file]).map((r) => r.run)).toEqual(['b']);
    expect(await removeRun(path.join(dir, 'absent.csv'), 'a')).toBe(0);
  });
});

describe('mergeResults', () => {
  const MERGE_AT_GO = `
const { mergeResults } = require(SRC + '/results');
const go = () => mergeResults([ARGS.input], ARGS.out).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); });
fs.writeFileSync(ARGS.ready, '');
(function poll() { fs.existsSync(ARGS.go) ? go() : setTimeout(poll, 1); })();
`;

  test('two merges onto the same new --out at once: one writes it, the other is refused (checked under the lock), no rows lost', async () => {
    const inputs = ['a', 'b'].map((run) => path.join(dir, `${run}.csv`));
    for (const [k, f] of inputs.entries()) fs.writeFileSync(f, formatResultsCsv(Array.from({ length: 3000 }, (_, i) => row({ run: 'ab'[k], epoch: i + 1 }))));
    const out = path.join(dir, 'merged.csv');
    const go = path.join(dir, 'go');
    const ready = inputs.map((input) => `${input}.ready`);
    const exits = inputs.map((input, k) => waitExit(spawnTsNode(MERGE_AT_GO, { input, out, go, ready: ready[k] })));
    await waitFor(() => ready.every((f) => fs.existsSync(f)), 'both merges loaded');
    fs.writeFileSync(go, '');
    const results = await Promise.all(exits);
    expect(results.map((r) => r.code).sort()).toEqual([0, 1]);
    const refused = results.find((r) => r.code === 1)!;
    expect(refused.stderr).toContain(`${out} exists and is not one of the files merged, so its rows would be lost`);
    const runs = new Set(readResults([out]).map((r) => r.run));
    expect(runs.size).toBe(1); // one input's rows, and the refused merge said so: nothing lost silently
    expect(readResults([out])).toHaveLength(3000);
  });

  test('the same race inside one process: the second merge is refused', async () => {
    const a = path.join(dir, 'a.csv');
    const b = path.join(dir, 'b.csv');
    await appendResults(a, [row({ run: 'a' })]);
    await appendResults(b, [row({ run: 'b' })]);
    const out = path.join(dir, 'merged.csv');
    const r = await Promise.allSettled([mergeResults([a], out), mergeResults([b], out)]);
    expect(r.map((x) => x.status)).toEqual(['fulfilled', 'rejected']);
    expect(readResults([out]).map((x) => x.run)).toEqual(['a']);
  });

  test('merging two shards equals the unsharded rows, duplicates dropped, in study order', async () => {
    const all = fakeResults({ seed: 3, epochs: 3, models: ['UNet_dilate', 'SegNet'], losses: ['tversky_loss_alpha_0.10', 'BCELoss', 'dice_loss'] });
    const whole = path.join(dir, 'whole.csv');
    const s1 = path.join(dir, 'shard1.csv');
    const s2 = path.join(dir, 'shard2.csv');
    await appendResults(whole, all);
    await appendResults(s1, all.filter((r) => r.model === 'SegNet'));
    // Shard 2 repeats one SegNet row (a retried write) and is written in reverse order.
    await appendResults(s2, [...all.filter((r) => r.model !== 'SegNet').reverse(), all.find((r) => r.model === 'SegNet')!]);
    const out = path.join(dir, 'merged.csv');
    const merged = await mergeResults([s1, s2], out);
    const expected = sortRows(readResults([whole]));
    expect(merged).toEqual(expected);
    expect(readResults([out])).toEqual(expected);
    expect(merged.slice(0, 4).map((r) => `${r.model}/${r.criterion}/${r.epoch}`)).toEqual([
      'SegNet/BCELoss/1',
      'SegNet/BCELoss/2',
      'SegNet/BCELoss/3',
      'SegNet/dice_loss/1',
    ]);
    // Deterministic: shard order does not change the output.
    expect(await mergeResults([s2, s1], path.join(dir, 'merged2.csv'))).toEqual(expected);
  });

  test('two runs of the same model x loss keep every epoch of both (rows are keyed by run id)', async () => {
    const a = [1, 2].map((e) => row({ run: 'first', epoch: e, metric: 0.5 + e / 100 }));
    const b = [1, 2].map((e) => row({ run: 'rerun', epoch: e, metric: 0.6 + e / 100 }));
    const s1 = path.join(dir, 's1.csv');
    const s2 = path.join(dir, 's2.csv');
    await appendResults(s1, a);
    await appendResults(s2, b);
    const merged = await mergeResults([s1, s2], path.join(dir, 'merged.csv'));
    expect(merged.map((r) => `${r.run}:${r.epoch}:${r.metric}`)).toEqual(['first:1:0.51', 'rerun:1:0.61', 'first:2:0.52', 'rerun:2:0.62']);
  });

  test('two different runs that share an id (other results for the same epochs) are both kept, the later renamed', async () => {
    // the same model x loss with two learning rates, trained into two --out folders: the same run id
    const s1 = path.join(dir, 'lr-a.csv');
    const s2 = path.join(dir, 'lr-b.csv');
    await appendResults(s1, [1, 2].map((e) => row({ run: 'UNet_dice_loss_seed0', epoch: e, metric: 0.5 + e / 100 })));
    await appendResults(s2, [1, 2].map((e) => row({ run: 'UNet_dice_loss_seed0', epoch: e, metric: 0.6 + e / 100 })));
    const merged = await mergeResults([s1, s2], path.join(dir, 'merged.csv'));
    expect(merged.map((r) => `${r.run}:${r.epoch}:${r.metric}`)).toEqual([
      'UNet_dice_loss_seed0:1:0.51', 'UNet_dice_loss_seed0@lr-b.csv:1:0.61', 'UNet_dice_loss_seed0:2:0.52', 'UNet_dice_loss_seed0@lr-b.csv:2:0.62',
    ]);
    expect(merged.renamed).toEqual(['UNet_dice_loss_seed0@lr-b.csv']);
  });

  test('an existing output that is not one of the inputs is refused: its rows would be lost', async () => {
    const s1 = path.join(dir, 'in.csv');
    const out = path.join(dir, 'out.csv');
    await appendResults(s1, [row({ run: 'a' })]);
    await appendResults(out, [row({ run: 'kept' })]);
    await expect(mergeResults([s1], out)).rejects.toThrow(/out\.csv exists and is not one of the files merged, so its rows would be lost: add it with --results .*out\.csv/);
    expect(readResults([out]).map((r) => r.run)).toEqual(['kept']);
    expect((await mergeResults([s1, out], out)).map((r) => r.run).sort()).toEqual(['a', 'kept']);
  });

  test('rows without a run id (the study CSV) are all kept: they cannot be told apart from another run', async () => {
    const study = path.join(dir, 'study.csv');
    // The study appended a second run of UNet x dice_loss to the same file.
    fs.writeFileSync(study, 'train_loss,valid_loss,metric,model,criterion,epoch\n0.5,0.6,0.7,UNet,dice_loss,1\n0.4,0.5,0.75,UNet,dice_loss,1\n');
    const merged = await mergeResults([study], path.join(dir, 'merged.csv'));
    expect(merged.map((r) => r.metric)).toEqual([0.7, 0.75]);
  });
});
