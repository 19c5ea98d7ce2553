import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describeChange, describeSettings, EPOCH_RULE, RECIPES, resolveSettings, ruleEpochs, settingsDifferences } from '../../src/train/recipe';

describe('run settings come from the recipe, and a flag given explicitly wins', () => {
  it('melseg is the default recipe: every setting not given is its value', () => {
    const s = resolveSettings({ data: 'synthetic:8' });
    const m = RECIPES.melseg;
    expect(s.recipe).toBe('melseg');
    expect([s.model, s.loss, s.imageSize, s.width, s.batchSize, s.lr, s.schedule, s.warmupEpochs, s.augment]).toEqual([
      m.model, m.loss, m.imageSize, m.width, m.batchSize, m.lr, m.schedule, m.warmupEpochs, m.augment,
    ]);
    expect(m.epochs).toBe(EPOCH_RULE);
    expect([s.epochs, s.epochsFrom]).toEqual([EPOCH_RULE.max, { ...EPOCH_RULE, trainImages: 6 }]);
    expect(s.split).toEqual({ fractions: m.splitFractions });
  });

  it('the study recipe is the published one: UNet_dilate x tversky 0.10, 256 px, width 1, batch 25, 20 epochs, AdamW 3e-4 on a plateau schedule, its own augmentation', () => {
    const s = resolveSettings({ data: 'synthetic:8', recipe: 'study' });
    expect([s.model, s.loss, s.imageSize, s.width, s.batchSize, s.epochs, s.lr, s.schedule, s.warmupEpochs, s.augment]).toEqual([
      3, 5, 256, 1, 25, 20, 3e-4, 'plateau', 0, 'study',
    ]);
  });

  it('explicit values win over the recipe, names resolve to numbers', () => {
    const s = resolveSettings({ data: 'synthetic:8', recipe: 'study', model: 'UNet', loss: 'dice_loss', lr: 1e-3, augment: 'none', epochs: 3 });
    expect([s.model, s.loss, s.lr, s.augment, s.epochs]).toEqual([1, 2, 1e-3, 'none', 3]);
  });

  it("the recipe's warm-up is at most a tenth of a shorter run and only for the cosine schedule; an explicit one is checked", () => {
    const warm = (input: Omit<Parameters<typeof resolveSettings>[0], 'data'>) => resolveSettings({ data: 'synthetic:8', ...input }).warmupEpochs;
    expect(warm({ schedule: 'cosine', epochs: 60 })).toBe(RECIPES.melseg.warmupEpochs);
    expect(warm({ schedule: 'cosine', epochs: 10 })).toBe(Math.min(1, RECIPES.melseg.warmupEpochs));
    expect(warm({ schedule: 'cosine', epochs: 2 })).toBe(0);
    expect(warm({ schedule: 'plateau', epochs: 60 })).toBe(0);
    expect(warm({ schedule: 'cosine', epochs: 2, warmupEpochs: 1 })).toBe(1);
    expect(() => warm({ schedule: 'cosine', epochs: 2, warmupEpochs: 2 })).toThrow('--warmup 2: expected fewer warm-up epochs than --epochs (2)');
  });

  it('two recipes differ in the settings that decide the run, each named by its flag', () => {
    const a = resolveSettings({ data: 'synthetic:8', recipe: 'study' });
    const b = resolveSettings({ data: 'synthetic:8', recipe: 'study', lr: 1e-3, batchSize: 8 });
    expect(settingsDifferences(a, b).map((c) => c.key)).toEqual(['batchSize', 'lr']);
  });
});

describe("melseg's epochs follow from the number of training images; --epochs and the study recipe keep theirs", () => {
  const epochs = (input: Omit<Parameters<typeof resolveSettings>[0], 'data'> & { data: string }) => resolveSettings(input);

  it('9000 image presentations, rounded, at least 20 and at most 60 epochs', () => {
    expect(EPOCH_RULE).toEqual({ presentations: 9000, min: 20, max: 60 });
    const sizes = [1, 6, 100, 150, 200, 225, 300, 439, 440, 1500, 1700, 10_000];
    expect(sizes.map((n) => ruleEpochs(EPOCH_RULE, n))).toEqual([60, 60, 60, 60, 45, 40, 30, 21, 20, 20, 20, 20]);
    expect(ruleEpochs(EPOCH_RULE, 0)).toBe(60);
  });

  it("counts the split's training images, not the dataset's: seeded fractions, a split file, a fold", () => {
    // synthetic:N splits 75/12.5/12.5 by default: 200 -> 150 training images (PH2-sized), 400 -> 300
    const ph2 = epochs({ data: 'synthetic:200' });
    expect([ph2.epochs, ph2.epochsFrom?.trainImages, ph2.warmupEpochs]).toEqual([60, 150, 2]);
    expect(epochs({ data: 'synthetic:400' }).epochs).toBe(30);
    const isic = epochs({ data: 'synthetic:2000', splitFractions: [0.85, 0.075, 0.075] });
    expect([isic.epochs, isic.epochsFrom?.trainImages]).toEqual([20, 1700]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-recipe-'));
    const file = path.join(dir, 'split.json');
    const id = (i: number) => `synth-${String(i).padStart(4, '0')}`;
    fs.writeFileSync(file, JSON.stringify({ train: Array.from({ length: 150 }, (_, i) => id(i)), valid: [id(1500)], test: [] }));
    const fromFile = epochs({ data: 'synthetic:2000', split: file });
    expect([fromFile.epochs, fromFile.epochsFrom?.trainImages]).toEqual([60, 150]);
    // fold 1/5 of 300 + 50 pooled trains on 280
    const fold = epochs({ data: 'synthetic:400', fold: '1/5' });
    expect([fold.epochs, fold.epochsFrom?.trainImages]).toEqual([32, 280]);
  });

  it('--epochs wins and records no rule; the study recipe keeps its 20', () => {
    const given = epochs({ data: 'synthetic:200', epochs: 7 });
    expect([given.epochs, 'epochsFrom' in given, given.warmupEpochs]).toEqual([7, false, 0]);
    const study = epochs({ data: 'synthetic:200', recipe: 'study' });
    expect([study.epochs, 'epochsFrom' in study]).toEqual([20, false]);
  });

  it('the recipe line says how the epochs were chosen, and a rule-chosen run compares equal to one given the same --epochs', () => {
    const s = epochs({ data: 'synthetic:200' });
    expect(describeSettings(s)).toContain('60 epochs (from the data: 9000 image presentations over 150 training images, within 20-60 epochs; --epochs sets them) of batch 25');
    expect(describeSettings(epochs({ data: 'synthetic:200', epochs: 60 }))).toContain(', 60 epochs of batch 25');
    expect(settingsDifferences(s, epochs({ data: 'synthetic:200', epochs: 60 }))).toEqual([]);
  });

  it('a missing dataset is reported while the settings are resolved, as the loader would', () => {
    expect(() => epochs({ data: path.join(os.tmpdir(), 'melseg-no-such-dataset') })).toThrow(/^Dataset path not found: .*melseg-no-such-dataset\. Expected one of:/);
  });
});

describe('--fold', () => {
  it('takes I/K and is part of the settings a resume compares', () => {
    const s = resolveSettings({ data: 'synthetic', fold: '2/5' });
    expect(s.fold).toEqual({ index: 2, count: 5 });
    expect(describeSettings(s)).toMatch(/, fold 2\/5$/);
    expect(resolveSettings({ data: 'synthetic' }).fold).toBeUndefined();
    expect(settingsDifferences(s, resolveSettings({ data: 'synthetic', fold: '3/5' })).map(describeChange)).toEqual(['--fold {"index":2,"count":5} -> {"index":3,"count":5}']);
  });

  it.each(['0/5', '6/5', '1/1', '2', 'a/b', '1/101'])('refuses --fold %s, saying what it expects', (spec) => {
    expect(() => resolveSettings({ data: 'synthetic', fold: spec })).toThrow(
      `--fold ${spec}: expected I/K with 2 <= K <= 100 and 1 <= I <= K, e.g. 1/5 (train one model per fold, 1/5 to 5/5, with the same --seed)`,
    );
  });
});

describe('--oversample', () => {
  it('is absent unless given, so earlier runs compare equal on --resume', () => {
    expect('oversample' in resolveSettings({ data: 'synthetic:8' })).toBe(false);
    expect(resolveSettings({ data: 'synthetic:8', oversample: 'seborrheic_keratosis=2, melanoma=3' }).oversample).toEqual({ seborrheic_keratosis: 2, melanoma: 3 });
    expect(resolveSettings({ data: 'synthetic:8', oversample: { melanoma: 2 } }).oversample).toEqual({ melanoma: 2 });
  });

  it('refuses what it cannot read, with an example', () => {
    for (const bad of ['keratosis', 'keratosis=0', 'keratosis=11', 'keratosis=1.5', ','])
      expect(() => resolveSettings({ data: 'synthetic:8', oversample: bad })).toThrow(new RegExp(`^--oversample ${bad}: expected .*seborrheic_keratosis=2`));
  });
});
