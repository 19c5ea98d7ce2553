/**
 * Flags shared by several commands. Settings that a recipe decides have no oclif default: what is not
 * given comes from the recipe (src/train/recipe.ts), so a flag given explicitly always wins.
 * The study's spellings work too: `--batch_size`, `--image_size`, and its 0/1 switches
 * `--new_dataframe 1`, `--save_model 0`, `--evaluate 1` (rewritten to the boolean flags by studyArgv).
 */
import { Flags } from '@oclif/core';
import { AUGMENT_NAMES, AUGMENT_OFF_NAMES, checkSplitFractions, parseAllowChange, RECIPE_NAMES, RECIPES, ruleEpochs, SCHEDULES, SettingsInput } from '../train/recipe';
import type { RuntimeOptions } from '../train/trainer';
import { modelList } from '../models';
import { DEVICES, parseDevice } from '../onnx/session';

const m = RECIPES.melseg;
const st = RECIPES.study;
const byRecipe = (key: keyof typeof m) => `(default: the recipe's, melseg ${JSON.stringify(m[key])}, study ${JSON.stringify(st[key])})`;
const epochsDefault = (e: typeof m.epochs) =>
  typeof e === 'number' ? String(e) : `${e.presentations} image presentations over the training images, within ${e.min}-${e.max} (${ruleEpochs(e, 150)} for 150 images, ${e.min} for ${Math.floor(e.presentations / (e.min + 0.5)) + 1} or more)`;

export const modelFlags = {
  model: Flags.string({ char: 'm', summary: `Network: ${modelList()} (number or name) ${byRecipe('model')}.` }),
  loss: Flags.string({ char: 'l', summary: `Loss: number or name, see \`melseg build-graph --list\` ${byRecipe('loss')}.` }),
  'image-size': Flags.integer({ summary: `Side of the square network input, a multiple of 32 ${byRecipe('imageSize')}.`, aliases: ['image_size'] }),
  width: Flags.string({ summary: `Channel width multiplier: 1 = the study, 0.25 = CPU-sized ${byRecipe('width')}.` }),
};

/** Flags of a training run (train and sweep). */
export const trainFlags = {
  recipe: Flags.string({ summary: 'Defaults of every setting below: melseg (melseg\'s best recipe; the default) or study (the published study\'s).', options: RECIPE_NAMES }),
  data: Flags.string({ char: 'd', summary: 'Dataset: a PH2 folder, an ISIC-style folder (images/ + masks/), or synthetic[:N].' }),
  epochs: Flags.integer({ char: 'e', summary: `Epochs (default: the recipe's, melseg ${epochsDefault(m.epochs)}, study ${epochsDefault(st.epochs)}; a resumed run keeps its own).` }),
  'batch-size': Flags.integer({ char: 'b', summary: `Images per step ${byRecipe('batchSize')}.`, aliases: ['batch_size'] }),
  lr: Flags.string({ summary: `AdamW learning rate ${byRecipe('lr')}.` }),
  schedule: Flags.string({ summary: `Learning-rate schedule: plateau (ReduceLROnPlateau on validation IoU) or cosine (warm-up, then cosine decay) ${byRecipe('schedule')}.`, options: [...SCHEDULES] }),
  warmup: Flags.integer({ summary: `Warm-up epochs of the cosine schedule ${byRecipe('warmupEpochs')}.` }),
  'early-stop': Flags.integer({ summary: `Stop when validation IoU has not improved for this many epochs; 0 = never ${byRecipe('earlyStop')}.` }),
  augmentation: Flags.string({ summary: `Training augmentation preset ${byRecipe('augment')}.`, options: [...AUGMENT_NAMES] }),
  oversample: Flags.string({
    summary: 'Draw the training images of these labels (labels.csv beside --data) several times per epoch, each copy augmented differently, e.g. seborrheic_keratosis=2.',
  }),
  'augment-off': Flags.string({ summary: `Switch transforms of the augmentation preset off (ablations), e.g. blur,greyscale; from ${AUGMENT_OFF_NAMES.join(', ')}.` }),
  augment: Flags.boolean({ summary: 'Training augmentation; --no-augment turns it off (= --augmentation none).', allowNo: true }),
  seed: Flags.integer({ summary: 'Seed of weights, split, shuffling and augmentation (0 .. 4294967295; default 0).' }),
  limit: Flags.integer({ summary: 'Train on the first N images of the train split only, for a quick look (the valid split stays whole; default: all).' }),
  device: Flags.string({ summary: 'Execution provider: cpu, cuda (if installed) or webgpu.', default: 'cpu', options: [...DEVICES] }),
  nchwc: Flags.boolean({ summary: 'CPU: run narrow convolutions on onnxruntime\'s blocked NCHWc kernels, or never with --no-nchwc (same function; default: where measured faster, see README "Speed and memory").', allowNo: true }),
  out: Flags.string({ char: 'o', summary: 'Put checkpoints, grids and the results CSV under this folder instead of artifacts/ and results/.' }),
  'split-file': Flags.string({ summary: 'JSON split file {"train": [...], "valid": [...], "test": [...]} of case ids or image stems.' }),
  'split-fractions': Flags.string({ summary: `Train,valid,test fractions of the seeded split ${byRecipe('splitFractions')}.` }),
  'new-dataframe': Flags.boolean({ summary: 'Start a fresh results CSV (the old one is kept as .bak).', default: false, allowNo: true }),
  'save-model': Flags.boolean({ summary: 'Save best.ckpt and prediction grids (--no-save-model: only last.ckpt).', default: true, allowNo: true }),
  evaluate: Flags.boolean({ summary: 'Score best.ckpt on the test split at the end.', default: false, allowNo: true }),
  workers: Flags.integer({ summary: 'Augmentation worker threads (0 = main thread; at most the CPU cores this process may use).', default: 1 }),
  threads: Flags.integer({ summary: 'onnxruntime intra-op threads (default: the CPU cores this process may use: os.availableParallelism(), capped by a cgroup CPU quota such as Slurm\'s --cpus-per-task).' }),
  quiet: Flags.boolean({ char: 'q', summary: 'No progress bars.', default: false }),
};

/** Flags only `train` has (a sweep names, resumes and keeps its runs itself). */
export const runFlags = {
  resume: Flags.boolean({ summary: 'Continue the run in its folder from last.ckpt (also after Ctrl-C or kill -9).', default: false }),
  overwrite: Flags.boolean({ summary: 'Start this run anew: an earlier run in its folder is moved aside (<run>.replaced-<time>), not deleted.', default: false, exclusive: ['resume'] }),
  'allow-change': Flags.string({ summary: 'With --resume: settings that may differ from the run\'s, e.g. lr,batch-size (the change is logged and kept in run.json).' }),
  fold: Flags.string({
    summary: 'Cross-validation fold I/K, e.g. 2/5: the train and valid images pooled and cut into K seeded parts; part I validates, the rest train; the test images stay out. Train 1/K .. K/K with one --seed, then evaluate or predict with every best.ckpt (--checkpoint repeated) as an ensemble.',
  }),
  config: Flags.string({
    summary: 'Settings from a file: a run\'s run.json as it is (artifacts/<run>/run.json), or a JSON object of settings; flags given on the command line win over it.',
  }),
  'run-id': Flags.string({ summary: 'Name of the run folder (default <Model>_<loss>_s<size>_w<width>_seed<seed>).' }),
  'dump-batches': Flags.string({ summary: 'Write every training batch, the validation set and the initial weights to this folder (for scripts/torch_train.py --batches).' }),
};

/** The study's 0/1 switches -> melseg's boolean flags: `--evaluate 1` -> `--evaluate`, `--save_model 0` -> `--no-save-model`. */
export function studyArgv(argv: readonly string[]): string[] {
  const switches: Record<string, string> = { '--new_dataframe': 'new-dataframe', '--new-dataframe': 'new-dataframe', '--save_model': 'save-model', '--save-model': 'save-model', '--evaluate': 'evaluate' };
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const eq = argv[i].indexOf('=');
    const name = eq < 0 ? argv[i] : argv[i].slice(0, eq);
    const flag = switches[name];
    if (!flag) {
      out.push(argv[i]);
      continue;
    }
    let value = eq < 0 ? undefined : argv[i].slice(eq + 1);
    if (value === undefined && /^(0|1|true|false|yes|no)$/i.test(argv[i + 1] ?? '')) value = argv[++i];
    out.push(value === undefined || /^(1|true|yes)$/i.test(value) ? `--${flag}` : `--no-${flag}`);
  }
  return out;
}

export function positiveNumber(name: string, v: string): number {
  const x = Number(v);
  if (!Number.isFinite(x) || x <= 0 || v.trim() === '') throw new Error(`--${name} ${v}: expected a positive number`);
  return x;
}

/** "0.9,0.1,0" -> [0.9, 0.1, 0], checked by the recipe's one check. */
export function fractions(v: string): [number, number, number] {
  return checkSplitFractions(v.split(',').map((x) => (x.trim() === '' ? NaN : Number(x))), v);
}

type TrainFlagValues = {
  recipe?: string; data?: string; epochs?: number; 'batch-size'?: number; lr?: string; schedule?: string; warmup?: number; 'early-stop'?: number;
  augmentation?: string; augment?: boolean; 'augment-off'?: string; oversample?: string; 'image-size'?: number; width?: string; seed?: number; limit?: number; device: string; nchwc?: boolean; out?: string;
  'split-file'?: string; 'split-fractions'?: string; 'new-dataframe': boolean; 'save-model': boolean; evaluate: boolean; workers: number; threads?: number; quiet: boolean;
  model?: string; loss?: string;
};

/** A run's settings and runtime options from train's or sweep's parsed flags (no defaults added here: the recipe's apply). */
export function runSettings(flags: TrainFlagValues): SettingsInput & RuntimeOptions & { evaluate: boolean } {
  if (flags.augment === false && flags.augmentation && flags.augmentation !== 'none') throw new Error(`--no-augment and --augmentation ${flags.augmentation} contradict each other; give one of them`);
  return {
    recipe: flags.recipe as SettingsInput['recipe'],
    data: flags.data!,
    model: flags.model,
    loss: flags.loss,
    epochs: flags.epochs,
    batchSize: flags['batch-size'],
    lr: flags.lr === undefined ? undefined : positiveNumber('lr', flags.lr),
    schedule: flags.schedule as SettingsInput['schedule'],
    warmupEpochs: flags.warmup,
    earlyStop: flags['early-stop'],
    augment: flags.augment === false ? 'none' : flags.augmentation,
    augmentOff: flags['augment-off']?.split(',').map((t) => t.trim()).filter(Boolean),
    oversample: flags.oversample,
    imageSize: flags['image-size'],
    width: flags.width === undefined ? undefined : positiveNumber('width', flags.width),
    seed: flags.seed,
    limit: flags.limit,
    split: flags['split-file'],
    splitFractions: flags['split-fractions'] === undefined ? undefined : fractions(flags['split-fractions']),
    device: parseDevice(flags.device),
    nchwc: flags.nchwc,
    out: flags.out,
    newDataframe: flags['new-dataframe'],
    saveModel: flags['save-model'],
    evaluate: flags.evaluate,
    workers: flags.workers,
    threads: flags.threads,
    progress: !flags.quiet,
  };
}

/** train's own flags on top. */
export function trainRuntime(flags: { resume: boolean; overwrite: boolean; 'allow-change'?: string; 'run-id'?: string; 'dump-batches'?: string }): RuntimeOptions {
  if (flags['allow-change'] && !flags.resume) throw new Error('--allow-change applies to --resume: add --resume, or drop --allow-change');
  return {
    resume: flags.resume,
    overwrite: flags.overwrite,
    allowChange: parseAllowChange(flags['allow-change']),
    runId: flags['run-id'],
    dumpBatches: flags['dump-batches'],
  };
}
