/**
 * The run recipe: every setting that decides what a training run computes, the defaults of each named
 * recipe, and the checks. `melseg train`, `melseg sweep`, the trainer and the sweep all take their
 * settings from here (nanoGPT-style: plain defaults that flags override, saved with each run).
 *
 *   melseg   melseg's own recipe (the default): UNet_dilate x bce_dice_loss, AdamW 1e-3 with a cosine
 *            schedule after 2 warm-up epochs, the plain augmentation (crop, flips, colour jitter), and
 *            epochs that follow from the number of training images (EPOCH_RULE)
 *   study    the published study's: 256 px, width 1, batch 25, 20 epochs, AdamW 3e-4 with
 *            ReduceLROnPlateau on validation IoU, its augmentation, UNet_dilate x tversky 0.10
 *
 * A flag given explicitly always wins over the recipe's value.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { AUGMENT_PRESETS, AUGMENT_TRANSFORMS, listIds, planSplit, type Fold } from '../data';
import { parseLabelNumbers } from '../data/labels';
import { LOSSES, resolveLoss } from '../losses';
import { MODELS, baseWidth, checkImageSize, resolveModel } from '../models';
import { closest } from '../util/closest';
import { readJsonFile } from '../util/json';

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
  /** Present when the recipe's rule chose the epochs (no --epochs): the rule and the training images it counted. */
  epochsFrom?: EpochsFrom;
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
  /** Train on the first this many images of the train split only, for a quick look (absent: all of them). */
  limit?: number;
}

/** Epochs from the data: this many image presentations over the split's training images, rounded, within [min, max]. */
export interface EpochRule {
  presentations: number;
  min: number;
  max: number;
}

export type EpochsFrom = EpochRule & { trainImages: number };

/**
 * melseg's length: 9000 image presentations (60 epochs of 150 images), at least 20 epochs, at most 60.
 * Evidence, all at 128 px, width 0.25, batch 16 on 150 training images (README "Recipes"):
 * - PH2 150/25/25: 60 epochs gave test IoU 0.887 raw (0.8965 with --preset best) against 0.866 after 20.
 * - ISIC 2017 150/25 (docs/splits/isic2017-150-25-25.json), scored on 300 other images: 0.716-0.721
 *   after 60 epochs against 0.685-0.696 after 20 (seeds 0, 1, 2); three 20-epoch models averaged (0.706)
 *   do not make up for it, so the budget goes into one longer run.
 * - the cap: nothing longer than 60 was measured; a smaller set keeps 60 (its epochs are cheap).
 * - the floor: 20 is the study's budget and melseg's earlier fixed length, so a large set trains no
 *   shorter than before: 1700 ISIC images get 20 epochs (34 000 presentations), about 56 minutes at
 *   160 px on 2 cores scaled from the shipped model's 30 in 84 (a budget choice, not measured against 20).
 * Sizes in between scale as 1/images: 200 images -> 45 epochs, 300 -> 30, 440 and more -> 20.
 * No stop on a plateau by default: 25 validation images are too few to choose on (README), and a cosine
 * run earns its last epochs at the lowest rates; --early-stop N stays available.
 */
export const EPOCH_RULE: Readonly<EpochRule> = { presentations: 9000, min: 20, max: 60 };

/** The rule's epochs for a split of `trainImages` training images (--oversample's copies not counted). */
export function ruleEpochs(rule: Readonly<EpochRule>, trainImages: number): number {
  if (trainImages <= 0) return rule.max;
  return Math.min(rule.max, Math.max(rule.min, Math.round(rule.presentations / trainImages)));
}

type RecipeDefaults = Omit<RunSettings, 'recipe' | 'data' | 'seed' | 'epochs' | 'epochsFrom' | 'split' | 'fold' | 'oversample' | 'limit'> & {
  /** A fixed number, or a rule that counts the training images. */
  epochs: number | Readonly<EpochRule>;
  splitFractions: [number, number, number];
};

export const RECIPES: Readonly<Record<RecipeName, Readonly<RecipeDefaults>>> = {
  // Measured against the study's recipe on a PH2-sized ISIC 2017 split, scored on 300 held-out images at
  // full resolution (README "Recipes"): the combined BCE + Dice loss and the plain augmentation win; the
  // study's network, size, width, batch and epoch budget stay.
  melseg: {
    model: 3,
    loss: 15,
    imageSize: 256,
    width: 1,
    epochs: EPOCH_RULE,
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
export type SettingsInput = Partial<Omit<RunSettings, 'model' | 'loss' | 'epochsFrom' | 'split' | 'fold' | 'oversample'>> & {
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
  /** A settings file (a run's run.json, or its `settings` object): its values stand in for the recipe's; every other field given here wins over it. */
  config?: string;
};

/** The flag each setting comes from, for messages (epochsFrom is how --epochs' default was chosen). */
export const FLAG: Record<Exclude<keyof RunSettings, 'epochsFrom'>, string> = {
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
  limit: '--limit',
};

function fail(key: keyof typeof FLAG, value: unknown, expected: string): never {
  throw new Error(`${FLAG[key]} ${value}: expected ${expected}`);
}

function wholeNumber(key: keyof typeof FLAG, v: number, min: number, max: number): number {
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

/**
 * Every setting of a run: the recipe's defaults, overridden by a --config file, overridden by what was
 * given, checked. Where the recipe's epochs are a rule, the split's training images are counted from the
 * dataset's file names (nothing is decoded), so a bad --data or --split-file is reported here.
 */
export function resolveSettings(given: SettingsInput): RunSettings {
  const file = given.config !== undefined ? readSettingsFile(given.config) : null;
  const input: SettingsInput = file ? { ...file.input, ...definedOnly(given) } : given;
  const recipe = input.recipe ?? 'melseg';
  const d = RECIPES[recipe];
  if (!d) fail('recipe', recipe, `one of ${RECIPE_NAMES.join(', ')}`);
  if (!input.data || !String(input.data).trim()) throw new Error('--data is required: a PH2 folder, an ISIC-style folder (images/ + masks/), or synthetic[:N]');
  const s = mergeSettings(recipe, d, input, input.data);
  if (file?.splitSha256 && given.split === undefined && 'sha256' in s.split && s.split.sha256 !== file.splitSha256)
    throw new Error(
      `--config ${given.config}: its split file ${s.split.file} has changed since that run (sha256 ${file.splitSha256.slice(0, 12)}... then, ${s.split.sha256.slice(0, 12)}... now); ` +
        `restore the file, or give the split to use with --split-file FILE`,
    );
  checkSettings(s, input.epochs !== undefined);
  if (input.epochs === undefined && typeof d.epochs !== 'number') {
    const split = planSplit(listIds(s.data), s.split, s.seed, s.fold).train.length;
    const trainImages = s.limit !== undefined ? Math.min(s.limit, split) : split;
    s.epochs = ruleEpochs(d.epochs, trainImages);
    s.epochsFrom = { ...d.epochs, trainImages };
  }
  s.warmupEpochs = input.warmupEpochs ?? defaultWarmup(d, s.schedule, s.epochs);
  wholeNumber('warmupEpochs', s.warmupEpochs, 0, 100_000);
  if (s.warmupEpochs >= s.epochs && s.warmupEpochs > 0) fail('warmupEpochs', s.warmupEpochs, `fewer warm-up epochs than --epochs (${s.epochs})`);
  return s;
}

/**
 * The recipe's defaults overridden by the input, the split file read (hashed) and the fold, oversample
 * and limit parsed; the other values are checked by checkSettings, the epochs of a rule counted after.
 */
function mergeSettings(recipe: RecipeName, d: Readonly<RecipeDefaults>, input: SettingsInput, data: string): RunSettings {
  const s: RunSettings = {
    recipe,
    model: resolveModel(input.model ?? d.model).id,
    loss: resolveLoss(input.loss ?? d.loss).id,
    data: normaliseData(data),
    imageSize: input.imageSize ?? d.imageSize,
    width: input.width ?? d.width,
    seed: input.seed ?? 0,
    epochs: input.epochs ?? (typeof d.epochs === 'number' ? d.epochs : 0), // a rule's: counted below, after the checks
    batchSize: input.batchSize ?? d.batchSize,
    lr: input.lr ?? d.lr,
    schedule: input.schedule ?? d.schedule,
    warmupEpochs: 0, // below, from the epochs
    earlyStop: input.earlyStop ?? d.earlyStop,
    augment: input.augment ?? d.augment,
    augmentOff: [...(input.augmentOff ?? d.augmentOff)].sort(),
    split: splitSpec(input.split, input.splitFractions ?? d.splitFractions),
  };
  if (input.fold !== undefined) s.fold = parseFold(input.fold);
  if (input.oversample !== undefined)
    s.oversample = parseOversample(typeof input.oversample === 'string' ? input.oversample : Object.entries(input.oversample).map(([l, n]) => `${l}=${n}`).join(','));
  if (input.limit !== undefined) s.limit = wholeNumber('limit', input.limit, 1, 1_000_000_000);
  return s;
}

/** The checks of the merged values that need no dataset; the epochs only when given (a rule's are counted later). */
function checkSettings(s: RunSettings, epochsGiven: boolean): void {
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
  if (epochsGiven) wholeNumber('epochs', s.epochs, 1, 100_000);
  wholeNumber('batchSize', s.batchSize, 1, 100_000);
  if (!(s.lr > 0) || !Number.isFinite(s.lr)) fail('lr', s.lr, 'a positive number such as 3e-4');
  if (!SCHEDULES.includes(s.schedule)) fail('schedule', s.schedule, `one of ${SCHEDULES.join(', ')}`);
  wholeNumber('earlyStop', s.earlyStop, 0, 100_000);
  if (!AUGMENT_NAMES.includes(s.augment)) fail('augment', s.augment, `one of ${AUGMENT_NAMES.join(', ')}`);
  const badOff = s.augmentOff.filter((t) => !AUGMENT_OFF_NAMES.includes(t));
  if (badOff.length) fail('augmentOff', s.augmentOff.join(','), `a list from ${AUGMENT_OFF_NAMES.join(', ')}`);
  if (s.augmentOff.length && s.augment === 'none') fail('augmentOff', s.augmentOff.join(','), 'no list with --augmentation none (nothing to switch off)');
}

/** `input` without the fields left undefined (a flag not given), so they cannot hide a --config value. */
function definedOnly(input: SettingsInput): Partial<SettingsInput> {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as Partial<SettingsInput>;
}

/** Top-level fields of a run folder's run.json (run-folder.ts RunRecord): its `settings` are the settings. */
const RUN_RECORD_KEYS = ['version', 'runId', 'settings', 'createdAt', 'changes'];
const NUMBER_KEYS: readonly (keyof RunSettings)[] = ['imageSize', 'width', 'seed', 'epochs', 'batchSize', 'lr', 'warmupEpochs', 'earlyStop', 'limit'];
const STRING_KEYS: readonly (keyof RunSettings)[] = ['recipe', 'data', 'schedule', 'augment'];

/**
 * The settings in a --config file, as input to resolveSettings: a run's run.json as it is (its `settings`
 * object), or a plain object of the same settings (any subset: the recipe fills the rest). A split
 * recorded as {file, sha256} names the file (and the hash it must still have), {fractions} the seeded
 * split; a fold {index, count} or "I/K". A key that is not a setting is refused, naming the closest one.
 */
export function readSettingsFile(file: string): { input: SettingsInput; splitSha256?: string } {
  const bad = (what: string): never => {
    throw new Error(`--config ${file}: ${what}; expected a run's run.json (artifacts/<run>/run.json) or a JSON object of settings such as {"model": 3, "loss": 15, "data": "synthetic:200", "epochs": 10}`);
  };
  const obj = settingsObject(file, bad);
  const input: SettingsInput = { data: '' };
  let splitSha256: string | undefined;
  for (const [k, v] of Object.entries(obj) as [keyof typeof FLAG, unknown][]) {
    const found = JSON.stringify(v);
    if (NUMBER_KEYS.includes(k) && typeof v !== 'number') bad(`"${k}" is ${found}, expected a number (the value of ${FLAG[k]})`);
    if (STRING_KEYS.includes(k) && typeof v !== 'string') bad(`"${k}" is ${found}, expected a string (the value of ${FLAG[k]})`);
    if (k === 'split') splitSha256 = readSplitValue(v, input, bad) ?? splitSha256;
    else if (k === 'fold') {
      if (typeof v === 'string') input.fold = v;
      else if (v && typeof v === 'object' && typeof (v as Fold).index === 'number' && typeof (v as Fold).count === 'number') input.fold = `${(v as Fold).index}/${(v as Fold).count}`;
      else bad(`"fold" is ${found}, expected "I/K" or {"index": I, "count": K}`);
    } else if (k === 'augmentOff') {
      if (!Array.isArray(v) || !v.every((t) => typeof t === 'string')) bad(`"augmentOff" is ${found}, expected a list of transform names such as ["blur"]`);
      input.augmentOff = v as string[];
    } else if (k === 'model' || k === 'loss') {
      if (typeof v !== 'number' && typeof v !== 'string') bad(`"${k}" is ${found}, expected a number or a name (the value of ${FLAG[k]})`);
      input[k] = v as number | string;
    } else if (k === 'oversample') {
      if (typeof v !== 'string' && (typeof v !== 'object' || v === null || Array.isArray(v))) bad(`"oversample" is ${found}, expected {"label": copies} or "label=copies"`);
      input.oversample = v as string | Record<string, number>;
    } else (input as Record<string, unknown>)[k] = v;
  }
  if (input.data === '') delete (input as Partial<SettingsInput>).data;
  return { input, splitSha256 };
}

/**
 * A --config file's object of settings: run.json's `settings` or the plain object, without a rule's
 * epochs (the rule chooses again), every key a setting.
 */
function settingsObject(file: string, bad: (what: string) => never): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = readJsonFile(file, 'give a run.json written by melseg train, or fix the JSON');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code) throw new Error(`--config ${file}: cannot read it (${code}); check the path, e.g. --config artifacts/<run>/run.json`);
    throw new Error(`--config ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad(`found ${Array.isArray(raw) ? 'an array' : JSON.stringify(raw)}, not an object`);
  let obj = raw as Record<string, unknown>;
  if ('settings' in obj) {
    const extra = Object.keys(obj).filter((k) => !RUN_RECORD_KEYS.includes(k));
    if (extra.length) bad(`unknown field ${extra.map((k) => `"${k}"`).join(', ')} beside "settings" (a run.json has ${RUN_RECORD_KEYS.join(', ')})`);
    if (typeof obj.settings !== 'object' || obj.settings === null || Array.isArray(obj.settings)) bad('its "settings" is not an object');
    obj = obj.settings as Record<string, unknown>;
  }
  if ('epochsFrom' in obj) {
    // how the recipe's rule chose the epochs, not a setting: the rule chooses again (the same count on the same data)
    obj = { ...obj };
    delete obj.epochsFrom;
    delete obj.epochs;
  }
  const known = Object.keys(FLAG);
  for (const k of Object.keys(obj)) {
    if (known.includes(k)) continue;
    const near = closest(k, known);
    bad(`unknown setting "${k}"${near ? ` (did you mean "${near}"?)` : ''}; the settings are ${known.join(', ')}`);
  }
  return obj;
}

/** A recorded split into input (a path, {file, sha256} or {fractions}); returns the sha256 the file must still have. */
function readSplitValue(v: unknown, input: SettingsInput, bad: (what: string) => never): string | undefined {
  if (typeof v === 'string') input.split = v;
  else if (v && typeof v === 'object' && typeof (v as { file?: unknown }).file === 'string') {
    input.split = (v as { file: string }).file;
    const sha = (v as { sha256?: unknown }).sha256;
    if (typeof sha === 'string') return sha;
  } else if (v && typeof v === 'object' && Array.isArray((v as { fractions?: unknown }).fractions) && (v as { fractions: unknown[] }).fractions.length === 3 && (v as { fractions: unknown[] }).fractions.every((x) => typeof x === 'number'))
    input.splitFractions = (v as { fractions: [number, number, number] }).fractions;
  else bad(`"split" is ${JSON.stringify(v)}, expected a split file's path, {"file": PATH, "sha256": HASH} or {"fractions": [train, valid, test]}`);
  return undefined;
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
export const CHANGEABLE: readonly (keyof typeof FLAG)[] = ['lr', 'batchSize', 'earlyStop', 'augment', 'augmentOff', 'schedule', 'warmupEpochs'];

export interface SettingChange {
  key: keyof typeof FLAG;
  from: unknown;
  to: unknown;
}

const show = (v: unknown) => (typeof v === 'object' ? JSON.stringify(v) : String(v));

/** Where two runs' settings differ (epochs, and how they were chosen, excluded: a resumed run may be given more epochs). */
export function settingsDifferences(saved: RunSettings, now: RunSettings): SettingChange[] {
  const keys = Object.keys(FLAG) as (keyof typeof FLAG)[];
  return keys.filter((k) => k !== 'epochs' && show(saved[k]) !== show(now[k])).map((k) => ({ key: k, from: saved[k], to: now[k] }));
}

export function describeChange(c: SettingChange): string {
  return `${FLAG[c.key]} ${show(c.from)} -> ${show(c.to)}`;
}

/** `--allow-change lr,batch-size` -> the setting keys, checked against CHANGEABLE. */
export function parseAllowChange(spec: string | undefined): (keyof typeof FLAG)[] {
  if (!spec) return [];
  const byFlag = new Map((Object.entries(FLAG) as [keyof typeof FLAG, string][]).map(([k, f]) => [f.slice(2), k]));
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
    `${s.epochs} epochs${s.epochsFrom ? ` (${describeEpochsFrom(s.epochsFrom)})` : ''} of batch ${s.batchSize}, lr ${s.lr} (${s.schedule}${s.warmupEpochs ? `, ${s.warmupEpochs} warm-up` : ''}), ` +
    `augmentation ${s.augment}${s.augmentOff.length ? ` without ${s.augmentOff.join(', ')}` : ''}${s.earlyStop ? `, early stop after ${s.earlyStop}` : ''}, seed ${s.seed}, ${split}` +
    (s.fold ? `, fold ${s.fold.index}/${s.fold.count}` : '') +
    (s.limit ? `, first ${s.limit} training images` : '')
  );
}

/** "9000 image presentations over 150 training images, within 20-60 epochs; --epochs sets them" */
export function describeEpochsFrom(e: EpochsFrom): string {
  return `from the data: ${e.presentations} image presentations over ${e.trainImages} training images, within ${e.min}-${e.max} epochs; --epochs sets them`;
}
