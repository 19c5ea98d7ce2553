import * as fs from 'fs';
import * as path from 'path';
import { LOSS_NAMES } from '../../../src/report/names';
import { RESULT_COLUMNS, appendResults, formatResultsCsv, parseResultsCsv, readResults } from '../../../src/report/results';
import { row, tempDir } from '../helpers';

let dir: string;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('results CSV format', () => {
  test('the header is the documented column order, values in the same order', () => {
    const text = formatResultsCsv([row({ model: 'UNet_dilate', criterion: 'tversky_loss_alpha_0.10', epoch: 1 })]);
    const lines = text.split('\n');
    expect(lines[0]).toBe('train_loss,valid_loss,metric,model,criterion,epoch,lr,seconds,images_per_s,run');
    expect(lines[0].split(',')).toEqual([...RESULT_COLUMNS]);
    expect(lines[1]).toBe('0.5,0.6,0.7,UNet_dilate,tversky_loss_alpha_0.10,1,0.001,12.5,80,r1');
    expect(lines[2]).toBe('');
  });

  test('numbers round-trip exactly, NaN as a blank cell, names with commas and quotes quoted', () => {
    const rows = [row({ epoch: 1, metric: 0.1 + 0.2 }), row({ epoch: 2, metric: NaN, lr: NaN }), row({ epoch: 3, run: 'a,"b"' })];
    const text = formatResultsCsv(rows);
    expect(text.split('\n')[2]).toBe('0.5,0.6,,UNet,dice_loss,2,,12.5,80,r1');
    const back = parseResultsCsv(text, 'x.csv');
    expect(back[0].metric).toBe(0.1 + 0.2);
    expect(back[1].metric).toBeNaN();
    expect(back[1].lr).toBeNaN();
    expect(back[2].run).toBe('a,"b"');
  });

  test("the study's own CSV (six columns, pandas index, nan) is readable; bare indices map through the tables", () => {
    const file = path.join(dir, 'study.csv');
    fs.writeFileSync(file, ',train_loss,valid_loss,metric,model,criterion,epoch\n0,0.5,0.6,nan,UNet,dice_loss,1\n1,0.4,0.5,0.61,3,6,2\n');
    const rows = readResults([file]);
    expect(rows).toHaveLength(2);
    expect(rows[0].metric).toBeNaN();
    expect(rows[0].run).toBe('');
    expect(rows[0].seconds).toBeNaN();
    expect(rows[1]).toMatchObject({ model: 'UNet_dilate', criterion: 'tversky_loss_alpha_0.20', metric: 0.61, epoch: 2 });
  });

  test('an index maps to whatever the loss table holds at that number, including the last loss', () => {
    const last = LOSS_NAMES.length - 1;
    const rows = parseResultsCsv(`train_loss,valid_loss,metric,model,criterion,epoch\n0.5,0.6,0.7,1,${last},1\n`, 'x.csv');
    expect(rows[0].criterion).toBe(LOSS_NAMES[last]);
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
    expect(() => readResults([path.join(dir, 'nope.csv')])).toThrow(/results file .*nope\.csv \(ENOENT\)/);
  });

  test('rows built with a missing name or an epoch below 1 are refused before any file is written', async () => {
    const file = path.join(dir, 'results.csv');
    await expect(appendResults(file, [row({ model: '' })])).rejects.toThrow(/row 0 is invalid: model must be a non-empty name/);
    await expect(appendResults(file, [row({ epoch: 0 })])).rejects.toThrow(/epoch must be an integer >= 1, found 0/);
    expect(fs.existsSync(file)).toBe(false);
  });
});
