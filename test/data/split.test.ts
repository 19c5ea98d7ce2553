import { readFileSync, writeFileSync } from 'fs';
import * as path from 'path';
import { foldSplit, indicesOf, loadSplit, makeSplit, saveSplit } from '../../src/data/split';
import { removeDir, tmpDir } from './helpers/fixtures';
import { RECIPES } from '../../src/train/recipe';

/** The recipes' split (both recipes use it). */
const FRACTIONS = RECIPES.melseg.splitFractions;
const ph2Ids = Array.from({ length: 200 }, (_, i) => `IMD${String(i + 2).padStart(3, '0')}`);

let dir: string;
beforeAll(() => {
  dir = tmpDir('split');
});
afterAll(() => removeDir(dir));

describe('makeSplit', () => {
  it('cuts 200 ids into 150 / 25 / 25 disjoint parts that cover them all', () => {
    const s = makeSplit(ph2Ids, { seed: 1, fractions: FRACTIONS });
    expect([s.train.length, s.valid.length, s.test.length]).toEqual([150, 25, 25]);
    expect([...s.train, ...s.valid, ...s.test].sort()).toEqual([...ph2Ids].sort());
  });

  it('is a function of the seed and the id set only, not of the input order', () => {
    const a = makeSplit(ph2Ids, { seed: 7, fractions: FRACTIONS });
    const b = makeSplit([...ph2Ids].reverse(), { seed: 7, fractions: FRACTIONS });
    const c = makeSplit(ph2Ids, { seed: 8, fractions: FRACTIONS });
    expect(b).toEqual(a);
    expect(c.test).not.toEqual(a.test);
  });

  it('allows an empty test part, e.g. [0.9, 0.1, 0]', () => {
    const s = makeSplit(ph2Ids.slice(0, 33), { seed: 3, fractions: [0.9, 0.1, 0] });
    expect([s.train.length, s.valid.length, s.test.length]).toEqual([30, 3, 0]);
  });

  it('rejects fractions that do not sum to 1', () => {
    expect(() => makeSplit(ph2Ids, { seed: 1, fractions: [0.5, 0.2, 0.2] })).toThrow('summing to 1, found [0.5, 0.2, 0.2]');
  });
});

describe('loadSplit / saveSplit', () => {
  it('round-trips a split through an atomically written JSON file', async () => {
    const s = makeSplit(ph2Ids, { seed: 1, fractions: FRACTIONS });
    const file = path.join(dir, 'split.json');
    await saveSplit(file, s);
    expect(Object.keys(JSON.parse(readFileSync(file, 'utf8')))).toEqual(['train', 'valid', 'test']);
    expect(loadSplit(file, ph2Ids)).toEqual(s);
    expect(indicesOf(ph2Ids, s.valid).map((i) => ph2Ids[i])).toEqual(s.valid);
  });

  it('lists the ids that are not in the dataset, naming the file', () => {
    const file = path.join(dir, 'unknown.json');
    writeFileSync(file, JSON.stringify({ train: ['IMD002', 'IMD999'], valid: ['ISIC_1'], test: [] }));
    expect(() => loadSplit(file, ph2Ids)).toThrow(`Split file ${file} names 2 id(s) that are not in the dataset: IMD999, ISIC_1`);
  });

  it('names the split file that is nested 500k levels deep (no RangeError from the parsed value)', () => {
    const deep = path.join(dir, 'deep.json');
    writeFileSync(deep, '{"train":' + '['.repeat(500_000) + ']'.repeat(500_000) + '}');
    expect(() => loadSplit(deep, ph2Ids)).toThrow(`Split file ${deep}: JSON nested more than 64 levels deep`);
  });

  it('explains malformed files: bad JSON, wrong types, an id in two parts, a missing file', () => {
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, '{"train": [');
    expect(() => loadSplit(bad, ph2Ids)).toThrow(`Split file ${bad}: not valid JSON`);
    writeFileSync(bad, JSON.stringify({ train: [1, 2] }));
    expect(() => loadSplit(bad, ph2Ids)).toThrow(`Split file ${bad}: "train" must be an array of id strings`);
    writeFileSync(bad, JSON.stringify({ train: ['IMD002'], test: ['IMD002'] }));
    expect(() => loadSplit(bad, ph2Ids)).toThrow('id IMD002 appears in both "train" and "test"');
    expect(() => loadSplit(path.join(dir, 'absent.json'), ph2Ids)).toThrow(`Cannot read split file ${path.join(dir, 'absent.json')}`);
  });
});

describe('foldSplit', () => {
  const base = makeSplit(ph2Ids, { seed: 1, fractions: FRACTIONS }); // 150 / 25 / 25

  it('validates each of the pooled train + valid ids in exactly one of K folds, in parts of near-equal size', () => {
    const folds = [1, 2, 3, 4, 5].map((index) => foldSplit(base, { index, count: 5 }, 0));
    const valids = folds.flatMap((f) => f.valid);
    expect(valids.sort()).toEqual([...base.train, ...base.valid].sort());
    expect(folds.map((f) => f.valid.length)).toEqual([35, 35, 35, 35, 35]);
    for (const f of folds) {
      expect(f.train.length + f.valid.length).toBe(175);
      expect(f.train.filter((id) => f.valid.includes(id))).toEqual([]);
      expect(f.test).toEqual(base.test);
    }
    const uneven = [1, 2, 3].map((index) => foldSplit({ train: ph2Ids.slice(0, 8), valid: [], test: [] }, { index, count: 3 }, 0).valid.length);
    expect(uneven.sort()).toEqual([2, 3, 3]);
  });

  it('depends on the seed and the pooled ids, not on how they were divided between train and valid', () => {
    const a = foldSplit(base, { index: 2, count: 5 }, 4);
    const moved = { train: [...base.train, ...base.valid], valid: [], test: base.test };
    expect(foldSplit(moved, { index: 2, count: 5 }, 4)).toEqual(a);
    expect(foldSplit(base, { index: 2, count: 5 }, 5).valid).not.toEqual(a.valid);
  });
});
