import * as fs from 'fs';
import * as path from 'path';
import {
  RESULT_COLUMNS,
  appendResults,
  bestPerCombination,
  formatResultsCsv,
  mergeResults,
  readResults,
  removeRun,
  sortRows,
  startFresh,
  upsertRunRows,
} from '../../src/report/results';
import { LOSS_NAMES, MODEL_NAMES, lossName, modelName } from '../../src/report/names';
import { fakeResults } from '../../src/report/fake';
import { row, spawnTsNode, tempDir, waitExit } from './helpers';

let dir: string;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('names', () => {
  test('model and loss tables follow the study, tversky alpha = (k - 4) / 10 with two decimals', () => {
    expect(MODEL_NAMES).toEqual(['SegNet', 'UNet', 'UNet_stride', 'UNet_dilate']);
    expect(LOSS_NAMES).toHaveLength(16);
    expect(lossName(0)).toBe('BCELoss');
    expect(lossName(3)).toBe('focal_loss');
    expect(lossName(4)).toBe('tversky_loss_alpha_0.00');
    expect(lossName(5)).toBe('tversky_loss_alpha_0.10');
    expect(lossName(14)).toBe('tversky_loss_alpha_1.00');
    expect(modelName(3)).toBe('UNet_dilate');
    expect(lossName(15)).toBe('bce_dice_loss');
    expect(() => lossName(16)).toThrow(/expected a loss index 0..15 \(0 BCELoss .. 15 bce_dice_loss\); found 16/);
  });
});

describe('appendResults / readResults', () => {
  test('creates the file with the header in the documented column order, values in the same order', async () => {
    const file = path.join(dir, 'sub', 'results.csv');
    await appendResults(file, [row({ model: 'UNet_dilate', criterion: 'tversky_loss_alpha_0.10', epoch: 1 })]);
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    expect(lines[0]).toBe('train_loss,valid_loss,metric,model,criterion,epoch,lr,seconds,images_per_s,run');
    expect(lines[0].split(',')).toEqual([...RESULT_COLUMNS]);
    expect(lines[1]).toBe('0.5,0.6,0.7,UNet_dilate,tversky_loss_alpha_0.10,1,0.001,12.5,80,r1');
    expect(lines[2]).toBe('');
  });

  test('appends after existing rows and reads numbers back as numbers, blanks as NaN', async () => {
    const file = path.join(dir, 'results.csv');
    await appendResults(file, [row({ epoch: 1 })]);
    await appendResults(file, [row({ epoch: 2, metric: NaN, lr: NaN }), row({ epoch: 3, run: 'a,"b"' })]);
    const rows = readResults([file]);
    expect(rows.map((r) => r.epoch)).toEqual([1, 2, 3]);
    expect(rows[0]).toEqual(row({ epoch: 1 }));
    expect(rows[1].metric).toBeNaN();
    expect(rows[1].lr).toBeNaN();
    expect(rows[2].run).toBe('a,"b"');
    expect(fs.readFileSync(file, 'utf8').split('\n')[2]).toBe('0.5,0.6,,UNet,dice_loss,2,,12.5,80,r1');
  });

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

  test('many concurrent appends in one process lose no row and leave a parseable file', async () => {
    const file = path.join(dir, 'results.csv');
    await Promise.all(Array.from({ length: 40 }, (_, i) => appendResults(file, [row({ epoch: i + 1 })])));
    const rows = readResults([file]);
    expect(rows.map((r) => r.epoch).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(fs.existsSync(file + '.lock')).toBe(false);
  });

  test('two processes appending at once lose no row', async () => {
    const file = path.join(dir, 'results.csv');
    const script = `
const { appendResults } = require(SRC + '/results.ts');
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
const { appendResults } = require(SRC + '/results.ts');
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

  test('refuses to append to a file with another header, naming the file, both headers and the fix', async () => {
    const file = path.join(dir, 'other.csv');
    fs.writeFileSync(file, 'a,b\n1,2\n');
    await expect(appendResults(file, [row()])).rejects.toThrow(
      new RegExp(`other\\.csv has header 'a,b'; expected 'train_loss,.*,run'.*startFresh`),
    );
  });

  test('rejects rows with a missing name or an epoch below 1', async () => {
    const file = path.join(dir, 'results.csv');
    await expect(appendResults(file, [row({ model: '' })])).rejects.toThrow(/row 0 is invalid: model must be a non-empty name/);
    await expect(appendResults(file, [row({ epoch: 0 })])).rejects.toThrow(/epoch must be an integer >= 1, found 0/);
    expect(fs.existsSync(file)).toBe(false);
  });
});

describe('malformed files', () => {
  test('a truncated line is reported with the file and its line number', () => {
    const file = path.join(dir, 'bad.csv');
    fs.writeFileSync(file, formatResultsCsv([row({ epoch: 1 })]) + '0.4,0.5,0.6,UNet\n');
    expect(() => readResults([file])).toThrow(`${file}:3: expected 10 fields (as in the header); found 4`);
  });

  test('a non-numeric value names the column and the line', () => {
    const file = path.join(dir, 'bad.csv');
    fs.writeFileSync(file, formatResultsCsv([row({ epoch: 1 })]).replace('0.7,', 'abc,'));
    expect(() => readResults([file])).toThrow(`${file}:2: column metric expected a number (or blank for unknown); found "abc"`);
  });

  test('a file without the study columns is rejected at line 1, a missing file by name', () => {
    const file = path.join(dir, 'bad.csv');
    fs.writeFileSync(file, 'x,y\n1,2\n');
    expect(() => readResults([file])).toThrow(`${file}:1: header lacks column(s) train_loss, valid_loss, metric, model, criterion, epoch`);
    expect(() => readResults([path.join(dir, 'nope.csv')])).toThrow(/nope\.csv \(ENOENT\)/);
  });

  test("the study's own CSV (six columns, pandas index, nan) is readable", () => {
    const file = path.join(dir, 'study.csv');
    fs.writeFileSync(file, ',train_loss,valid_loss,metric,model,criterion,epoch\n0,0.5,0.6,nan,UNet,dice_loss,1\n1,0.4,0.5,0.61,3,6,2\n');
    const rows = readResults([file]);
    expect(rows).toHaveLength(2);
    expect(rows[0].metric).toBeNaN();
    expect(rows[0].run).toBe('');
    expect(rows[0].seconds).toBeNaN();
    // Bare indices in name columns are mapped through the tables.
    expect(rows[1]).toMatchObject({ model: 'UNet_dilate', criterion: 'tversky_loss_alpha_0.20', metric: 0.61, epoch: 2 });
  });
});

describe('resumed runs', () => {
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
});

describe('bestPerCombination', () => {
  test('best metric and its first epoch from the latest run in file order; NaN ignored', () => {
    const rows = [
      row({ run: 'old', epoch: 1, metric: 0.9 }),
      row({ run: 'new', epoch: 1, metric: 0.5 }),
      row({ run: 'new', epoch: 2, metric: NaN }),
      row({ run: 'new', epoch: 3, metric: 0.7, train_loss: 0.1, valid_loss: 0.2 }),
      row({ run: 'new', epoch: 4, metric: 0.7, train_loss: 0.05, valid_loss: 0.25 }),
      row({ run: 'x', model: 'SegNet', epoch: 1, metric: NaN }),
    ];
    expect(bestPerCombination(rows)).toEqual([
      { model: 'SegNet', criterion: 'dice_loss', run: 'x', bestMetric: NaN, bestEpoch: NaN, finalTrainLoss: 0.5, finalValidLoss: 0.6, epochs: 1, runs: 1 },
      { model: 'UNet', criterion: 'dice_loss', run: 'new', bestMetric: 0.7, bestEpoch: 3, finalTrainLoss: 0.05, finalValidLoss: 0.25, epochs: 4, runs: 2 },
    ]);
  });
});
