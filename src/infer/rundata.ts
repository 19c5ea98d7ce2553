/**
 * The data a checkpoint was trained on, as evaluate and `--threshold auto` need it: the dataset
 * (the checkpoint's own unless --data says otherwise), the run's split (split.json beside the
 * checkpoint unless --split-file says otherwise), and the full-resolution ground truth.
 */
import * as fs from 'fs';
import * as path from 'path';
import { indicesOf, loadDataset, loadSplit, type Dataset, type Split } from '../data';
import type { CheckpointMeta } from '../checkpoint/checkpoint';
import { truthReader, type TruthReader } from './fullres';
import { readJsonFile } from '../util/json';

export const SPLITS = ['test', 'valid', 'train', 'all'] as const;
export type SplitName = (typeof SPLITS)[number];

export interface RunData {
  spec: string;
  dataset: Dataset;
  truth: TruthReader;
  /** The split file read, if any was needed. */
  splitFile?: string;
  split?: Split;
}

export interface RunDataOptions {
  checkpoint: string;
  meta: CheckpointMeta;
  data?: string;
  splitFile?: string;
  cacheDir?: string | null;
  /** Whether a split file is needed (false for --split all without --threshold auto). */
  needSplit: boolean;
  /** What needs it, for the error message: "--split valid" or "--threshold auto". */
  why: string;
}

/**
 * The split a checkpoint was trained with: a run's split.json beside it, or, for a model shipped
 * without its run folder, `<name>-split.json` beside `<name>.safetensors` (models/isic2017-split.json);
 * null when neither exists.
 */
export function trainingSplitFile(checkpoint: string): string | null {
  const dir = path.dirname(checkpoint);
  const own = path.join(dir, `${path.basename(checkpoint, path.extname(checkpoint))}-split.json`);
  for (const f of [path.join(dir, 'split.json'), own]) if (fs.existsSync(f)) return f;
  return null;
}

export async function loadRunData(o: RunDataOptions): Promise<RunData> {
  const spec = o.data ?? o.meta.dataset;
  if (!spec) throw new Error(`${o.checkpoint} does not record its dataset: pass --data (a PH2 or ISIC folder, or synthetic[:N])`);
  const file = o.splitFile ?? trainingSplitFile(o.checkpoint) ?? path.join(path.dirname(o.checkpoint), 'split.json');
  if (o.needSplit && !fs.existsSync(file))
    throw new Error(`no split file ${file} for ${o.why}: pass --split-file (the split.json of the training run)${o.why.startsWith('--split') ? ', or --split all to score every image' : ''}`);
  const dataset = await loadDataset(spec, { imageSize: o.meta.imageSize, cacheDir: o.cacheDir });
  const rd: RunData = { spec, dataset, truth: truthReader(spec, dataset) };
  if (o.needSplit) {
    rd.splitFile = file;
    rd.split = loadSplit(file, dataset.ids);
  }
  return rd;
}

/** Dataset indices of a split part; an empty part is an error naming the file and a fix. */
export function splitIndices(rd: RunData, which: SplitName): number[] {
  if (which === 'all') return rd.dataset.ids.map((_, i) => i);
  if (!rd.split) throw new Error(`--split ${which} needs the run's split file; pass --split-file`);
  const indices = indicesOf(rd.dataset.ids, rd.split[which]);
  if (!indices.length) throw new Error(`the ${which} split of ${rd.splitFile} is empty; choose another --split (test, valid, train or all)`);
  return indices;
}

/**
 * Refuse to score test or valid images that one of the checkpoints trained on (its training split,
 * trainingSplitFile, says which): such a score is optimistic, and with an ensemble of cross-validation
 * folds, or a --split-file other than the run's, it happens without anyone noticing. `--split all`
 * scores every image on purpose, so there the overlap is a warning (through `warn`), not a refusal.
 */
export function refuseTrainedOn(rd: RunData, which: SplitName, indices: readonly number[], checkpoints: readonly string[], warn?: (s: string) => void): void {
  if (which === 'train') return;
  for (const ck of checkpoints) {
    const file = trainingSplitFile(ck);
    if (!file) continue; // nothing says what it saw (an imported model)
    let train: unknown;
    try {
      train = (readJsonFile(file) as { train?: unknown }).train;
    } catch {
      continue;
    }
    if (!Array.isArray(train)) continue;
    const seen = new Set(train.map(String));
    const overlap = indices.map((i) => rd.dataset.ids[i]).filter((id) => seen.has(id));
    if (!overlap.length) continue;
    const listed = `${overlap.slice(0, 3).join(', ')}${overlap.length > 3 ? ', ...' : ''}`;
    if (which === 'all') {
      warn?.(
        `warning: ${overlap.length} of the ${indices.length} images scored (${listed}) are training images of ${ck} (its ${file}), so this score is optimistic; ` +
          `for an unbiased one score the images it did not train on: --split test`,
      );
      continue;
    }
    throw new Error(
      `${overlap.length} of the ${indices.length} ${which} images (${listed}) are training images of ${ck} (its ${file}); ` +
        `their score would be optimistic: pass a --split-file whose ${which} images none of the checkpoints trained on, or --split train to score training images on purpose`,
    );
  }
}
