import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { findLabels, labelCounts, oversampledIndices, parseMix, readLabels } from '../../src/data/labels';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-labels-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const f = path.join(root, name);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, text);
  return f;
};

describe('labels', () => {
  it('reads the ISIC 2017 Part 3 ground truth as diagnoses (both 0 = nevus)', () => {
    const f = write('isic.csv', 'image_id,melanoma,seborrheic_keratosis\nISIC_1,0.0,0.0\nISIC_2,1.0,0.0\nISIC_3,0.0,1.0\n');
    expect([...readLabels(f)]).toEqual([['ISIC_1', 'nevus'], ['ISIC_2', 'melanoma'], ['ISIC_3', 'seborrheic_keratosis']]);
  });

  it('reads any two-column id,label CSV', () => {
    expect([...readLabels(write('two.csv', 'id,group\na,ink\nb,clean\n'))]).toEqual([['a', 'ink'], ['b', 'clean']]);
  });

  it('names the file, the row and what it found when a row is wrong', () => {
    const f = write('bad.csv', 'image_id,melanoma,seborrheic_keratosis\nISIC_1,1,1\n');
    expect(() => readLabels(f)).toThrow(`labels file ${f}, row 2: expected an id and melanoma and seborrheic_keratosis of 0 or 1 (not both 1), found ISIC_1,1,1`);
    expect(() => readLabels(write('three.csv', 'a,b,c\n1,2,3\n'))).toThrow(/expected the columns image_id,melanoma,seborrheic_keratosis \(ISIC 2017\) or two columns id,label; found a,b,c/);
  });

  it('finds labels.csv in the data folder or the folder above it, never for synthetic data', () => {
    write('isic/labels.csv', 'id,label\na,x\n');
    fs.mkdirSync(path.join(root, 'isic', 'train'), { recursive: true });
    expect(findLabels(path.join(root, 'isic', 'train'))).toBe(path.join(root, 'isic', 'labels.csv'));
    expect(findLabels(path.join(root, 'isic'))).toBe(path.join(root, 'isic', 'labels.csv'));
    expect(findLabels(path.join(root, 'none'))).toBeUndefined();
    expect(findLabels('synthetic:8')).toBeUndefined();
  });

  it('takes a mix by name, as label=count pairs, or from a labels file', () => {
    expect(parseMix('isic2017-validation')).toEqual({ nevus: 78, melanoma: 30, seborrheic_keratosis: 42 });
    expect(parseMix('a=1, b=3')).toEqual({ a: 1, b: 3 });
    expect(parseMix(write('mix.csv', 'id,label\n1,a\n2,b\n3,b\n'))).toEqual({ a: 1, b: 2 });
    expect(labelCounts(['x', 'y', 'x'])).toEqual({ x: 2, y: 1 });
  });

  it('refuses a mix it cannot read, with the forms it accepts', () => {
    expect(() => parseMix('a=-1')).toThrow('--weights-from a=-1: "a=-1" is not label=count; e.g. --weights-from nevus=78,melanoma=30,seborrheic_keratosis=42');
    expect(() => parseMix('a=0,b=0')).toThrow(/every count is 0/);
    expect(() => parseMix('isic2017-valid')).toThrow(/expected a mix name \(isic2017-validation, isic2017-test, isic2017-training\)/);
  });
});

describe('oversampling by label', () => {
  it('repeats the training indices of the named labels, and the rest once', () => {
    const ids = ['a', 'b', 'c', 'd'];
    const labels = new Map([['a', 'nevus'], ['b', 'seborrheic_keratosis'], ['c', 'melanoma']]);
    expect(oversampledIndices([0, 1, 2, 3], ids, labels, { seborrheic_keratosis: 3, melanoma: 2 })).toEqual([0, 1, 1, 1, 2, 2, 3]);
  });
});
