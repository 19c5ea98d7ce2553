/**
 * The run recipe: every setting that decides what a training run computes, the defaults of each named
 * recipe, and the checks. `melseg train`, `melseg sweep`, the trainer and the sweep all take their
 * settings from here (nanoGPT-style: plain defaults that flags override, saved with each run).
 *
 *   melseg   melseg's own recipe (the default): UNet_dilate x bce_dice_loss, AdamW 1e-3 with a cosine
 *            schedule after 2 warm-up epochs, the plain augmentation (crop, flips, colour jitter)
 *   study    the published study's: 256 px, width 1, batch 25, 20 epochs, AdamW 3e-4 with
 *            ReduceLROnPlateau on validation IoU, its augmentation, UNet_dilate x tversky 0.10
 *
 * A flag given explicitly always wins over the recipe's value.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { AUGMENT_PRESETS, AUGMENT_TRANSFORMS, type Fold } from '../data';
import { parseLabelNumbers } from '../data/labels';
import { LOSSES, resolveLoss } from '../losses';
import { MODELS, baseWidth, checkImageSize, resolveModel } from '../models';

export type RecipeName = 'melseg' | 'study';
export type ScheduleName = 'plateau' | 'cosine';

/** What a split is made of: a user's file (path and content hash) or the fractions of the seeded split. */
export type SplitSpec = { file: string; sha256: string } | { fractions: [number, number, number] };

/** The settings that decide what a run computes (saved in <run>/run.json; compared on --resume). */
export interface RunSettings {
  recipe: RecipeName;
  model: number;
  loss: number;
  /** The dataset as given: a folder (stored resolved to an absolute path) or synthetic[:N]. */
  data: string;
  imageSize: number;
  width: number;
  seed: number;
  epochs: number;
  batchSize: number;
  lr: number;
  /** 'plateau': ReduceLROnPlateau on validation IoU (PyTorch defaults); 'cosine': cosine decay to 0 after a linear warm-up. */
  schedule: ScheduleName;
  warmupEpochs: number;
  /** Stop when validation IoU has not improved for this many epochs (0: never). */
  earlyStop: number;
  /** Augmentation preset (src/data AUGMENT_PRESETS), and the transforms of it switched off (ablations). */
  augment: string;
  augmentOff: string[];
  split: SplitSpec;
  /** Cross-validation: validate on this part of train + valid, train on the rest (absent: the split as it is). */
  fold?: Fold;
  /**
   * Training images of these labels (labels.csv beside --data) are drawn this many times per epoch,
   * each copy augmented differently (absent: once each), e.g. {seborrheic_keratosis: 2}.
   */
  oversample?: Record<string, number>;
}

type RecipeDefaults = Omit<RunSettings, 'recipe' | 'data' | 'seed' | 'split' | 'fold' | 'oversample'> & { splitFractions: [number, number, number] };

export const RECIPES: Readonly<Record<RecipeName, Readonly<RecipeDefaults>>> = {
  // Measured against the study's recipe on a PH2-sized ISIC 2017 split, scored on 300 held-out images at
  // full resolution (README "Recipes"): the combined BCE + Dice loss and the plain augmentation win; the
  // study's network, size, width, batch and epoch budget stay.
  melseg: {
    model: 3,
    loss: 15,
    imageSize: 256,
    width: 1,
    epochs: 20,
    batchSize: 25,
    lr: 1e-3,
    schedule: 'cosine',
    warmupEpochs: 2,
    earlyStop: 0,
    augment: 'plain',
    augmentOff: [],
    splitFractions: [0.75, 0.125, 0.125],
  },
  study: {
    model: 3,
    loss: 5,
    imageSize: 256,
    width: 1,
    epochs: 20,
    batchSize: 25,
    lr: 3e-4,
    schedule: 'plateau',
    warmupEpochs: 0,
    earlyStop: 0,
    augment: 'study',
    augmentOff: [],
    splitFractions: [0.75, 0.125, 0.125],
  },
};

/**
 * The recipe's warm-up, at most a tenth of the run (2 of 20 epochs; none in a run of under 10), and only
 * for the cosine schedule: a short run given --epochs keeps a sensible warm-up without a --warmup flag.
 */
function defaultWarmup(d: Readonly<RecipeDefaults>, schedule: string, epochs: number): number {
  return schedule === 'cosine' ? Math.min(d.warmupEpochs, Math.floor(epochs / 10)) : 0;
}

export const RECIPE_NAMES = Object.keys(RECIPES) as RecipeName[];
export const SCHEDULES: readonly ScheduleName[] = ['plateau', 'cosine'];
/** Augmentation presets a recipe may name, and the transforms that can be switched off (src/data). */
export const AUGMENT_NAMES: readonly string[] = Object.keys(AUGMENT_PRESETS);
export const AUGMENT_OFF_NAMES: readonly string[] = Object.keys(AUGMENT_TRANSFORMS);

/** Settings as a caller gives them: anything left out comes from the recipe. */
export type SettingsInput = Partial<Omit<RunSettings, 'model' | 'loss' | 'split' | 'fold' | 'oversample'>> & {
  /** "label=copies,...", e.g. "seborrheic_keratosis=2", or as parsed (see RunSettings.oversample). */
  oversample?: string | Record<string, number>;
  /** "I/K": fold I of K (see RunSettings.fold). */
  fold?: string;
  data: string;
  model?: number | string;
  loss?: number | string;
  /** A split file (JSON {train, valid, test} of ids), or the fractions of the seeded split. */
  split?: string;
  splitFractions?: [number, number, number];
};

/** The flag each setting comes from, for messages. */
export const FLAG: Record<keyof RunSettings, string> = {
  recipe: '--recipe',
  model: '--model',
  loss: '--loss',
  data: '--data',
  imageSize: '--image-size',
  width: '--width',
  seed: '--seed',
  epochs: '--epochs',
  batchSize: '--batch-size',
  lr: '--lr',
  schedule: '--schedule',
  warmupEpochs: '--warmup',
  earlyStop: '--early-stop',
  augment: '--augmentation',
  augmentOff: '--augment-off',
  split: '--split-file',
  fold: '--fold',
  oversample: '--oversample',
};

function fail(key: keyof RunSettings, value: unknown, expected: string): never {
  throw new Error(`${FLAG[key]} ${value}: expected ${expected}`);
}

function wholeNumber(key: keyof RunSettings, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) fail(key, v, `a whole number from ${min} to ${max}`);
  return v;
}

/** `synthetic[:N]` stays as written; a folder becomes absolute, so a run folder names one dataset. */
export function normaliseData(data: string): string {
  const s = data.trim();
  if (/^synthetic(:\d+)?$/i.test(s)) return s.toLowerCase();
  return path.resolve(s.replace(/^~(?=$|\/)/, process.env.HOME ?? '~')).replace(/[\\/]+$/, '');
}

/**
 * The one check of --split-fractions: three non-negative numbers that sum to 1, with some images to
 * train on and some to validate on. `given` is the text the error quotes (the flag as typed).
 */
export function checkSplitFractions(f: readonly number[], given = f.join(',')): [number, number, number] {
  const [train = NaN, valid = NaN, test = NaN] = f;
  if (f.length !== 3 || f.some((x) => !(x >= 0) || !Number.isFinite(x)) || Math.abs(train + valid + test - 1) > 1e-9 || !(train > 0) || !(valid > 0)) {
    throw new Error(`--split-fractions ${given}: expected three non-negative numbers that sum to 1, with some images to train on and some to validate on, e.g. 0.75,0.125,0.125 or 0.9,0.1,0`);
  }
  return [train, valid, test];
}

export function splitSpec(file: string | undefined, fractions: [number, number, number]): SplitSpec {
  if (!file) return { fractions: checkSplitFractions(fractions) };
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`--split-file ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? e}); check the path, or leave --split-file out to draw a seeded split`);
  }
  return { file: path.resolve(file), sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Every setting of a run: the recipe's defaults, overridden by what was given, checked. */
export function resolveSettings(input: SettingsInput): RunSettings {
  const recipe = input.recipe ?? 'melseg';
  const d = RECIPES[recipe];
  if (!d) fail('recipe', recipe, `one of ${RECIPE_NAMES.join(', ')}`);
  if (!input.data || !String(input.data).trim()) throw new Error('--data is required: a PH2 folder, an ISIC-style folder (images/ + masks/), or synthetic[:N]');
  const s: RunSettings = {
    recipe,
    model: resolveModel(input.model ?? d.model).id,
    loss: resolveLoss(input.loss ?? d.loss).id,
    data: normaliseData(input.data),
    imageSize: input.imageSize ?? d.imageSize,
    width: input.width ?? d.width,
    seed: input.seed ?? 0,
    epochs: input.epochs ?? d.epochs,
    batchSize: input.batchSize ?? d.batchSize,
    lr: input.lr ?? d.lr,
    schedule: input.schedule ?? d.schedule,
    warmupEpochs: input.warmupEpochs ?? defaultWarmup(d, input.schedule ?? d.schedule, input.epochs ?? d.epochs),
    earlyStop: input.earlyStop ?? d.earlyStop,
    augment: input.augment ?? d.augment,
    augmentOff: [...(input.augmentOff ?? d.augmentOff)].sort(),
    split: splitSpec(input.split, input.splitFractions ?? d.splitFractions),
  };
  if (input.fold !== undefined) s.fold = parseFold(input.fold);
  if (input.oversample !== undefined)
    s.oversample = parseOversample(typeof input.oversample === 'string' ? input.oversample : Object.entries(input.oversample).map(([l, n]) => `${l}=${n}`).join(','));
  try {
    checkImageSize(s.imageSize);
  } catch (e) {
    fail('imageSize', s.imageSize, 'a multiple of 32 (the networks halve it five times), e.g. 64, 128 or 256');
  }
  if (s.imageSize > 2048) fail('imageSize', s.imageSize, 'at most 2048');
  if (!(s.width > 0 && s.width <= 4)) fail('width', s.width, 'a channel multiplier in (0, 4], e.g. 1 (the study), 0.5 or 0.25');
  try {
    baseWidth(s.width);
  } catch (e) {
    fail('width', s.width, 'at least 1/64 (one channel)');
  }
  // the seeded generators take 32 bits: larger seeds would alias (2^32 and 2^33 gave the same weights)
  wholeNumber('seed', s.seed, 0, 2 ** 32 - 1);
  wholeNumber('epochs', s.epochs, 1, 100_000);
  wholeNumber('batchSize', s.batchSize, 1, 100_000);
  if (!(s.lr > 0) || !Number.isFinite(s.lr)) fail('lr', s.lr, 'a positive number such as 3e-4');
  if (!SCHEDULES.includes(s.schedule)) fail('schedule', s.schedule, `one of ${SCHEDULES.join(', ')}`);
  wholeNumber('warmupEpochs', s.warmupEpochs, 0, 100_000);
  if (s.warmupEpochs >= s.epochs && s.warmupEpochs > 0) fail('warmupEpochs', s.warmupEpochs, `fewer warm-up epochs than --epochs (${s.epochs})`);
  wholeNumber('earlyStop', s.earlyStop, 0, 100_000);
  if (!AUGMENT_NAMES.includes(s.augment)) fail('augment', s.augment, `one of ${AUGMENT_NAMES.join(', ')}`);
  const badOff = s.augmentOff.filter((t) => !AUGMENT_OFF_NAMES.includes(t));
  if (badOff.length) fail('augmentOff', s.augmentOff.join(','), `a list from ${AUGMENT_OFF_NAMES.join(', ')}`);
  if (s.augmentOff.length && s.augment === 'none') fail('augmentOff', s.augmentOff.join(','), 'no list with --augmentation none (nothing to switch off)');
  return s;
}

/** "seborrheic_keratosis=2,melanoma=2" -> copies per label, each a whole number from 1 to 10. */
export function parseOversample(spec: string): Record<string, number> {
  const parsed = parseLabelNumbers(spec);
  if ('bad' in parsed || Object.values(parsed.values).some((n) => !Number.isInteger(n) || n < 1 || n > 10))
    fail('oversample', spec, 'label=copies pairs with 1 to 10 copies, e.g. seborrheic_keratosis=2 (labels from labels.csv beside --data)');
  const out = parsed.values;
  if (!Object.keys(out).length) fail('oversample', spec, 'at least one label=copies pair, e.g. seborrheic_keratosis=2');
  return out;
}

/** "2/5" -> fold 2 of 5. */
export function parseFold(spec: string): Fold {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(spec);
  const f = m ? { index: Number(m[1]), count: Number(m[2]) } : null;
  if (!f || f.count < 2 || f.count > 100 || f.index < 1 || f.index > f.count)
    fail('fold', spec, 'I/K with 2 <= K <= 100 and 1 <= I <= K, e.g. 1/5 (train one model per fold, 1/5 to 5/5, with the same --seed)');
  return f;
}

/** Settings that may change when a run is resumed, given --allow-change (epochs may always grow). */
export const CHANGEABLE: readonly (keyof RunSettings)[] = ['lr', 'batchSize', 'earlyStop', 'augment', 'augmentOff', 'schedule', 'warmupEpochs'];

export interface SettingChange {
  key: keyof RunSettings;
  from: unknown;
  to: unknown;
}

const show = (v: unknown) => (typeof v === 'object' ? JSON.stringify(v) : String(v));

/** Where two runs' settings differ (epochs excluded: a resumed run may be given more epochs). */
export function settingsDifferences(saved: RunSettings, now: RunSettings): SettingChange[] {
  const keys = Object.keys(FLAG) as (keyof RunSettings)[];
  return keys.filter((k) => k !== 'epochs' && show(saved[k]) !== show(now[k])).map((k) => ({ key: k, from: saved[k], to: now[k] }));
}

export function describeChange(c: SettingChange): string {
  return `${FLAG[c.key]} ${show(c.from)} -> ${show(c.to)}`;
}

/** `--allow-change lr,batch-size` -> the setting keys, checked against CHANGEABLE. */
export function parseAllowChange(spec: string | undefined): (keyof RunSettings)[] {
  if (!spec) return [];
  const byFlag = new Map((Object.entries(FLAG) as [keyof RunSettings, string][]).map(([k, f]) => [f.slice(2), k]));
  return spec.split(',').map((raw) => {
    const k = byFlag.get(raw.trim().replace(/^--/, ''));
    if (!k || !CHANGEABLE.includes(k)) {
      throw new Error(`--allow-change ${spec}: '${raw.trim()}' cannot change in a resumed run; expected a list from ${CHANGEABLE.map((c) => FLAG[c].slice(2)).join(', ')}`);
    }
    return k;
  });
}

/** A readable summary for logs and reports. */
export function describeSettings(s: RunSettings): string {
  const split = 'file' in s.split ? `split ${s.split.file}` : `split ${s.split.fractions.join('/')}`;
  return (
    `recipe ${s.recipe}: ${MODELS[s.model].name} x ${LOSSES[s.loss].name}, ${s.imageSize} px, width ${s.width}, ` +
    `${s.epochs} epochs of batch ${s.batchSize}, lr ${s.lr} (${s.schedule}${s.warmupEpochs ? `, ${s.warmupEpochs} warm-up` : ''}), ` +
    `augmentation ${s.augment}${s.augmentOff.length ? ` without ${s.augmentOff.join(', ')}` : ''}${s.earlyStop ? `, early stop after ${s.earlyStop}` : ''}, seed ${s.seed}, ${split}` +
    (s.fold ? `, fold ${s.fold.index}/${s.fold.count}` : '')
  );
}
