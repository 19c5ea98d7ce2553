/**
 * `melseg import`: a PyTorch state_dict saved as safetensors, without melseg's metadata, becomes a
 * melseg checkpoint (best.ckpt-like: weights, BatchNorm statistics and counters, no optimizer state)
 * that evaluate and predict read. The network is named by flags or recognised from the tensors; every
 * tensor that does not fit is listed at once; dtypes are converted where no value changes meaning.
 */
import * as fs from 'fs';
import * as path from 'path';
import { meta, parameterSpecs, resolveConfig, type ResolvedConfig } from '../graphs';
import { loadWeights } from '../infer/model';
import { resolveLoss } from '../losses';
import { baseWidth, checkImageSize, modelList, MODELS, resolveModel, type ModelDef } from '../models';
import { saveCheckpoint, type Checkpoint } from '../checkpoint/checkpoint';
import { checkOutputFile } from '../util/atomic';
import { RECIPES } from '../train/recipe';
import { FILE_DTYPE } from './dtypes';
import { guessNetwork, matchStateDict, type EntryInfo } from './match';
import { shellQuote } from './pickle';
import { readForeignHeader, readForeignTensors } from './state-dict';

export interface ImportOptions {
  /** The safetensors file PyTorch wrote. */
  stateDict: string;
  /** The melseg checkpoint to write. */
  out: string;
  /** Network number or name (default: recognised from the tensors). */
  model?: string | number;
  /** Channel width multiplier (default: recognised from the tensors, base = channels of conv1.0.weight). */
  width?: number;
  /** Network input side (default: the recipe's; required for UNet_dilate, whose dilations depend on it). */
  imageSize?: number;
  /** Loss recorded in the metadata (default: the recipe's); the weights do not depend on it. */
  loss?: string | number;
  /** Replace an existing --out. */
  force?: boolean;
}

export interface ImportResult {
  out: string;
  config: ResolvedConfig;
  /** Tensors written (parameters, BatchNorm statistics and counters). */
  tensors: number;
  /** What was decided or converted on the way, one sentence each. */
  notes: string[];
}

/** DataParallel's wrapper prefix: model.module is the real network. */
const DATA_PARALLEL = 'module.';
const DILATE = MODELS.find((m) => m.name === 'UNet_dilate')!;

function flagError(flag: string, e: unknown): Error {
  return new Error(`${flag} ${(e as Error).message.replace(/^(unknown model|unknown loss|image size|width) /, '')}`);
}

/** The import command line for another input file (the pickle refusal's "then:"). */
function importCommand(o: ImportOptions, stateDict: string): string {
  const args = ['melseg', 'import', '--state-dict', stateDict];
  if (o.model !== undefined) args.push('--model', String(o.model));
  if (o.width !== undefined) args.push('--width', String(o.width));
  // UNet_dilate refuses to import without --image-size, and which network the file holds is only known
  // once it is converted: the suggestion names the study's size and says to change it.
  args.push('--image-size', String(o.imageSize ?? STUDY_IMAGE_SIZE));
  if (o.loss !== undefined) args.push('--loss', String(o.loss));
  args.push('--out', o.out);
  if (o.force) args.push('--force');
  const note = o.imageSize === undefined ? `\n(--image-size: the side the weights were trained at; ${STUDY_IMAGE_SIZE} is the study's, and UNet_dilate needs the right one)` : '';
  return args.map(shellQuote).join(' ') + note;
}

const STUDY_IMAGE_SIZE = RECIPES.study.imageSize;

function checkOut(o: ImportOptions): void {
  checkOutputFile(o.out, {
    flag: '--out',
    expected: 'the checkpoint file to write',
    noun: 'the checkpoint',
    example: 'imported.ckpt',
    inputs: [{ flag: '--state-dict', file: o.stateDict }],
    force: o.force,
  });
}

/** Model, width, image size and loss from the flags, the tensors and the recipe, with how each was decided. */
function configure(o: ImportOptions, entries: readonly EntryInfo[], notes: string[]): ResolvedConfig {
  const guess = o.model === undefined || o.width === undefined ? guessNetwork(entries) : null;
  let model: ModelDef;
  if (o.model !== undefined) {
    try {
      model = resolveModel(o.model);
    } catch (e) {
      throw flagError('--model', e);
    }
  } else if (guess) {
    model = guess.model;
  } else {
    throw new Error(
      `--state-dict ${o.stateDict}: its tensors fit none of melseg's networks at the width their first convolution (conv1.0.weight or encoder1.0.weight) implies; pass --model (${modelList()}) and --width to list every tensor that differs from that network`,
    );
  }
  let width = o.width;
  if (width === undefined) {
    const conv1 = entries.find((e) => e.name === 'conv1.0.weight');
    if (guess && guess.model.id === model.id) width = guess.width;
    else if (conv1 && conv1.shape.length === 4 && conv1.shape[0] >= 1) width = conv1.shape[0] / 64;
    else throw new Error(`--state-dict ${o.stateDict} has no conv1.0.weight [C, 3, 3, 3] to read the width from; pass --width (C / 64: 1 is the study's 64 channels)`);
  }
  if (!(width > 0 && width <= 4)) throw new Error(`--width ${width}: expected a channel multiplier in (0, 4], e.g. 1 (the study's 64 channels) or 0.25`);
  try {
    baseWidth(width);
  } catch (e) {
    throw flagError('--width', e);
  }
  if (o.model === undefined && o.width === undefined) notes.push(`network ${model.name} (model ${model.id}) at width ${width}, recognised from the tensors`);
  else if (o.model === undefined) notes.push(`network ${model.name} (model ${model.id}), recognised from the tensors`);
  else if (o.width === undefined) notes.push(`width ${width}, from the ${Math.round(width * 64)} output channels of conv1.0.weight`);

  let imageSize = o.imageSize;
  if (imageSize === undefined) {
    if (model.id === DILATE.id)
      throw new Error(
        `--image-size is required for ${DILATE.name}: its down- and up-sampling dilations are set by the image size the weights were trained at (the study's: 256), and the weights do not record it; add --image-size`,
      );
    imageSize = RECIPES.melseg.imageSize;
    notes.push(`image size ${imageSize}, the recipe's default (the weights work at any multiple of 32; --image-size sets it)`);
  }
  try {
    checkImageSize(imageSize);
  } catch (e) {
    throw flagError('--image-size', e);
  }
  let loss = o.loss;
  if (loss === undefined) loss = RECIPES.melseg.loss;
  let lossName: string;
  try {
    lossName = resolveLoss(loss).name;
  } catch (e) {
    throw flagError('--loss', e);
  }
  if (o.loss === undefined) notes.push(`loss ${lossName} recorded in the metadata, the recipe's default (--loss sets it; the weights do not depend on it)`);
  return resolveConfig({ model: model.id, loss, imageSize, width });
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Read, check and convert `o.stateDict`, and write `o.out` atomically; throws with every problem found. */
export async function importStateDict(o: ImportOptions): Promise<ImportResult> {
  checkOut(o);
  const header = readForeignHeader(o.stateDict, '--state-dict', (converted) => importCommand(o, converted));
  if (header.metadata.melseg !== undefined)
    throw new Error(`--state-dict ${o.stateDict} is already a melseg checkpoint (it has melseg metadata); evaluate and predict read it as it is: melseg predict --checkpoint ${shellQuote(o.stateDict)} IMAGE --out DIR`);
  if (header.entries.length === 0) throw new Error(`--state-dict ${o.stateDict} holds no tensors; save the network's state_dict(), not an empty dict`);

  const notes: string[] = [];
  const wrapped = header.entries.every((e) => e.name.startsWith(DATA_PARALLEL));
  const rename = (name: string) => (wrapped ? name.slice(DATA_PARALLEL.length) : name);
  if (wrapped) notes.push(`the "${DATA_PARALLEL}" prefix (nn.DataParallel) removed from every name`);
  const entries: EntryInfo[] = header.entries.map((e) => ({ name: rename(e.name), dtype: e.dtype, shape: e.shape }));

  const config = configure(o, entries, notes);
  const specs = parameterSpecs(config);
  const match = matchStateDict(entries, specs);
  if (match.problems.length) {
    const net = `${config.model.name} (model ${config.model.id}) at width ${config.width}`;
    const guess = guessNetwork(entries);
    const fix =
      guess && (guess.model.id !== config.model.id || guess.width !== config.width)
        ? `The tensors fit ${guess.model.name} (model ${guess.model.id}) at width ${guess.width}: run it again with --model ${guess.model.id} --width ${guess.width}.`
        : `Check --model (the study's SegNet = 0, UNet(mode='pool') = 1, 'stride' = 2, 'dilate' = 3) and --width (output channels of conv1.0.weight / 64), or fix the tensors above in PyTorch and save again.`;
    throw new Error(
      `--state-dict ${o.stateDict} does not fit ${net}: ${plural(match.problems.length, 'problem')} (${specs.length} tensors expected, ${entries.length} in the file)\n` +
        match.problems.map((p) => `  ${p.text}`).join('\n') +
        `\n${fix}`,
    );
  }

  const converted = new Map<string, { n: number; to: string; exact: boolean }>();
  for (const r of match.read) {
    if (r.conversion === 'same') continue;
    const c = converted.get(r.from) ?? { n: 0, to: FILE_DTYPE[r.to], exact: r.conversion === 'exact' };
    converted.set(r.from, { ...c, n: c.n + 1 });
  }
  for (const [from, c] of converted) notes.push(`${plural(c.n, `${from} tensor`)} converted to ${c.to} (${c.exact ? 'exact' : "rounded to nearest, as PyTorch's .float()"})`);
  if (match.zeroCounters.length)
    notes.push(`${plural(match.zeroCounters.length, 'num_batches_tracked counter')} absent from the file, written as 0 (BatchNorm with momentum 0.1 never reads them)`);

  const params = readForeignTensors(header, match, rename);
  const broken: string[] = [];
  for (const p of specs) {
    const d = params[p.name].data;
    if (!(d instanceof Float32Array)) continue;
    const i = d.findIndex((v) => !Number.isFinite(v));
    if (i >= 0) broken.push(`  ${p.name}: element ${i} is ${d[i]}`);
  }
  if (broken.length)
    throw new Error(
      `--state-dict ${o.stateDict}: ${plural(broken.length, 'tensor')} hold NaN or infinite values (training diverged, or F64 values beyond the F32 range)\n${broken.join('\n')}\nUse weights saved before the divergence`,
    );

  const ck: Checkpoint = { meta: { ...meta(config), importedFrom: path.basename(o.stateDict) }, params };
  checkOut(o); // again: the file may have appeared while the tensors were read
  await saveCheckpoint(o.out, ck);
  loadWeights(o.out); // what evaluate and predict will do: metadata bounds, finite weights, every shape
  return { out: o.out, config, tensors: Object.keys(params).length, notes };
}
