import { describeChange, describeSettings, RECIPES, resolveSettings, settingsDifferences } from '../../src/train/recipe';

describe('run settings come from the recipe, and a flag given explicitly wins', () => {
  it('melseg is the default recipe: every setting not given is its value', () => {
    const s = resolveSettings({ data: 'synthetic:8' });
    const m = RECIPES.melseg;
    expect(s.recipe).toBe('melseg');
    expect([s.model, s.loss, s.imageSize, s.width, s.epochs, s.batchSize, s.lr, s.schedule, s.warmupEpochs, s.augment]).toEqual([
      m.model, m.loss, m.imageSize, m.width, m.epochs, m.batchSize, m.lr, m.schedule, m.warmupEpochs, m.augment,
    ]);
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
