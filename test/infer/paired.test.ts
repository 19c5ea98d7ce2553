import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { comparePaired, labelsOfEvaluation, readScoredImages } from '../../src/infer/paired';
import { melseg } from '../helpers/cli';
import { seeded } from '../helpers/random';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-paired-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function csv(name: string, rows: [string, number][], split = 'test'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, 'id,width,height,iou,dice,split,settings\n' + rows.map(([id, iou]) => `${id},8,8,${iou},0,${split},raw`).join('\n') + '\n');
  return file;
}

describe('paired comparison of two evaluations', () => {
  test('the gain is the mean per-image difference and its standard error s_d / sqrt(n), on the shared images only', () => {
    const b = csv('b.csv', [['a', 0.5], ['b', 0.6], ['c', 0.7], ['d', 0.2], ['only-b', 0.9]]);
    const c = csv('c.csv', [['a', 0.55], ['b', 0.6], ['c', 0.8], ['d', 0.35], ['only-c', 0.1]]);
    const r = comparePaired(readScoredImages(b), readScoredImages(c));
    const d = [0.05, 0, 0.1, 0.15];
    const mean = d.reduce((s, x) => s + x, 0) / 4;
    const sd = Math.sqrt(d.reduce((s, x) => s + (x - mean) ** 2, 0) / 3);
    expect(r.all.n).toBe(4);
    expect(r.onlyBase).toBe(1);
    expect(r.onlyCandidate).toBe(1);
    expect(r.all.gain).toBeCloseTo(mean, 12);
    expect(r.all.se).toBeCloseTo(sd / 2, 12);
    expect(r.all.base).toBeCloseTo(0.5, 12);
    expect([r.all.better, r.all.worse]).toEqual([3, 0]);
    expect([r.all.failsBase, r.all.failsCandidate]).toEqual([1, 0]);
  });

  test('reweighting to a label mix weighs each label by its share, and its standard error reduces to the plain one for a mix equal to the data', () => {
    const rand = seeded(7);
    const rows = Array.from({ length: 30 }, (_, i) => [`im${i}`, rand()] as [string, number]);
    const labels = new Map(rows.map(([id], i) => [id, i < 10 ? 'keratosis' : 'nevus']));
    const b = readScoredImages(csv('rb.csv', rows));
    const c = readScoredImages(csv('rc.csv', rows.map(([id, x]) => [id, Math.min(1, x + (labels.get(id) === 'keratosis' ? 0.1 : 0.01 * rand()))])));
    const even = comparePaired(b, c, { labels, mix: { name: 'same', counts: { keratosis: 10, nevus: 20 } } });
    expect(even.reweighted!.gain.gain).toBeCloseTo(even.all.gain, 12);
    expect(even.reweighted!.gain.se).toBeCloseTo(even.all.se, 12);
    const half = comparePaired(b, c, { labels, mix: { name: 'half', counts: { keratosis: 1, nevus: 1 } } });
    const g = half.groups!;
    expect(half.reweighted!.gain.gain).toBeCloseTo((g.keratosis.gain + g.nevus.gain) / 2, 12);
    expect(half.reweighted!.gain.gain).toBeGreaterThan(half.all.gain);
  });

  test('evaluations of different splits, or with no image in common, are refused with what to do', () => {
    const t = readScoredImages(csv('t.csv', [['a', 0.5]], 'test'));
    const v = readScoredImages(csv('v.csv', [['a', 0.5]], 'valid'));
    const other = readScoredImages(csv('o.csv', [['z', 0.5]], 'test'));
    expect(() => comparePaired(t, v)).toThrow(/test split .* valid split: compare evaluations of the same split/);
    expect(() => comparePaired(t, other)).toThrow(/share no image id/);
  });

  test('a file that is not an evaluation CSV names the file, the line and what was expected', () => {
    const noIou = path.join(dir, 'results.csv');
    fs.writeFileSync(noIou, 'train_loss,valid_loss,metric\n1,2,3\n');
    expect(() => readScoredImages(noIou)).toThrow(/results\.csv: no "id" column \(found: train_loss, valid_loss, metric\)/);
    expect(() => readScoredImages(csv('bad.csv', [['a', 0.5], ['b', Number.NaN]]))).toThrow(/bad\.csv, line 3: expected an image id and an IoU in \[0, 1\]/);
    expect(() => readScoredImages(csv('dup.csv', [['a', 0.5], ['a', 0.6]]))).toThrow(/image a appears twice/);
    expect(() => readScoredImages(path.join(dir, 'missing.csv'))).toThrow(/missing\.csv: cannot read it \(no such file\)/);
  });

  test("the baseline's labels come from its summary when it names an existing file", () => {
    const b = csv('s.csv', [['a', 0.5]]);
    const labels = path.join(dir, 'labels.csv');
    fs.writeFileSync(labels, 'id,label\na,nevus\n');
    expect(labelsOfEvaluation(b)).toBeUndefined();
    fs.writeFileSync(path.join(dir, 's.summary.json'), JSON.stringify({ labels }));
    expect(labelsOfEvaluation(b)).toBe(labels);
  });
});

describe('melseg compare', () => {
  test('prints the paired gain per label and reweighted, and a bad file exits non-zero in one line', () => {
    const labels = path.join(dir, 'cli-labels.csv');
    fs.writeFileSync(labels, 'id,label\na,nevus\nb,nevus\nc,melanoma\nd,melanoma\n');
    const b = csv('cb.csv', [['a', 0.5], ['b', 0.6], ['c', 0.2], ['d', 0.7]]);
    const c = csv('cc.csv', [['a', 0.6], ['b', 0.6], ['c', 0.4], ['d', 0.7]]);
    const r = melseg(['compare', b, c, '--labels', labels, '--weights-from', 'nevus=1,melanoma=3']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/paired on 4 images/);
    expect(r.stdout).toMatch(/all\s+4\s+0\.5000\s+0\.5750\s+\+0\.0750 ± 0\.0479\s+2 \/ 0\s+1 -> 0/);
    expect(r.stdout).toMatch(/melanoma\s+2\s+0\.4500\s+0\.5500\s+\+0\.1000/);
    expect(r.stdout).toMatch(/reweighted\s+0\.4750\s+0\.5625\s+\+0\.0875/);
    const bad = melseg(['compare', b, path.join(dir, 'nope.csv')]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/nope\.csv: cannot read it \(no such file\)/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });
});
