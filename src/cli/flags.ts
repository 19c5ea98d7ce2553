/** Flags shared by several commands, with the study's own spellings as aliases. */
import { Flags } from '@oclif/core';
import { parseDevice } from '../onnx/session';

export const modelFlags = {
  model: Flags.string({ char: 'm', summary: 'Network: 0 SegNet, 1 UNet, 2 UNet_stride, 3 UNet_dilate (number or name).', required: true }),
  loss: Flags.string({ char: 'l', summary: 'Loss: 0 BCELoss, 1 bce_loss, 2 dice_loss, 3 focal_loss, 4..14 Tversky alpha 0.0..1.0 (number or name).', required: true }),
  'image-size': Flags.integer({ summary: 'Side of the square network input, a multiple of 32.', default: 256, aliases: ['image_size'] }),
  width: Flags.string({ summary: 'Channel width multiplier (1 = the study; 0.25 = CPU-sized).', default: '1' }),
};

/** Flags of a training run (train and sweep). */
export const trainFlags = {
  data: Flags.string({ char: 'd', summary: 'Dataset: a PH2 folder, an ISIC-style folder (images/ + masks/), or synthetic[:N].' }),
  epochs: Flags.integer({ char: 'e', summary: 'Epochs.', default: 20 }),
  'batch-size': Flags.integer({ char: 'b', summary: 'Images per step.', default: 25, aliases: ['batch_size'] }),
  lr: Flags.string({ summary: 'AdamW learning rate (ReduceLROnPlateau on validation IoU lowers it).', default: '3e-4' }),
  seed: Flags.integer({ summary: 'Seed of weights, split, shuffling and augmentation.', default: 0 }),
  device: Flags.string({ summary: 'Execution provider: cpu, cuda (if installed) or webgpu.', default: 'cpu', options: ['cpu', 'cuda', 'webgpu'] }),
  nchwc: Flags.boolean({ summary: 'CPU: run narrow convolutions on onnxruntime\'s blocked NCHWc kernels, or never with --no-nchwc (same function; default: where measured faster, see README "Speed and memory").', allowNo: true }),
  out: Flags.string({ char: 'o', summary: 'Put checkpoints, grids and the results CSV under this folder instead of artifacts/ and results/.' }),
  split: Flags.string({ summary: 'JSON split file {"train": [...], "valid": [...], "test": [...]} of case ids or image stems.' }),
  'split-fractions': Flags.string({ summary: 'Train,valid,test fractions of the seeded split.', default: '0.75,0.125,0.125' }),
  'new-dataframe': Flags.string({ summary: 'Start a fresh results CSV (the old one is kept as .bak): 1/0.', aliases: ['new_dataframe'], default: '0' }),
  'save-model': Flags.string({ summary: 'Save best.ckpt and prediction grids: 1/0.', aliases: ['save_model'], default: '1' }),
  evaluate: Flags.string({ summary: 'Score best.ckpt on the test split at the end: 1/0.', default: '0' }),
  augment: Flags.boolean({ summary: 'Training augmentation (the study\'s); --no-augment turns it off.', default: true, allowNo: true }),
  resume: Flags.boolean({ summary: 'Continue this configuration\'s run from its last.ckpt.', default: false }),
  workers: Flags.integer({ summary: 'Augmentation worker threads (0 = main thread).', default: 1 }),
  quiet: Flags.boolean({ char: 'q', summary: 'No progress bars.', default: false }),
};

/** The study's 0/1 switches, also accepting true/false/yes/no. */
export function bool01(name: string, v: string | undefined): boolean {
  const s = String(v ?? '').trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(s)) return false;
  throw new Error(`--${name} ${v}: expected 1 or 0`);
}

export function positiveNumber(name: string, v: string): number {
  const x = Number(v);
  if (!Number.isFinite(x) || x <= 0) throw new Error(`--${name} ${v}: expected a positive number`);
  return x;
}

/** "0.9,0.1,0" -> [0.9, 0.1, 0] */
export function fractions(v: string): [number, number, number] {
  const f = v.split(',').map(Number);
  if (f.length !== 3 || f.some((x) => !Number.isFinite(x) || x < 0) || Math.abs(f[0] + f[1] + f[2] - 1) > 1e-9) {
    throw new Error(`--split-fractions ${v}: expected three non-negative numbers that sum to 1, e.g. 0.75,0.125,0.125 or 0.9,0.1,0`);
  }
  return [f[0], f[1], f[2]];
}

/** The run settings shared by `train` and `sweep`, from their parsed flags. */
export function runSettings(flags: {
  data?: string; epochs: number; 'batch-size': number; lr: string; 'image-size': number; width: string; seed: number; device: string; nchwc?: boolean;
  out?: string; split?: string; 'split-fractions': string; 'new-dataframe': string; 'save-model': string; evaluate: string;
  augment: boolean; workers: number; quiet: boolean;
}) {
  return {
    data: flags.data!,
    epochs: flags.epochs,
    batchSize: flags['batch-size'],
    lr: positiveNumber('lr', flags.lr),
    imageSize: flags['image-size'],
    width: positiveNumber('width', flags.width),
    seed: flags.seed,
    device: parseDevice(flags.device),
    nchwc: flags.nchwc,
    out: flags.out,
    split: flags.split,
    splitFractions: fractions(flags['split-fractions']),
    newDataframe: bool01('new-dataframe', flags['new-dataframe']),
    saveModel: bool01('save-model', flags['save-model']),
    evaluate: bool01('evaluate', flags.evaluate),
    augment: flags.augment,
    workers: flags.workers,
    progress: !flags.quiet,
  };
}
