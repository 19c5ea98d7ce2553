/**
 * `melseg evaluate`: score a checkpoint the way the field scores, at each image's ORIGINAL
 * resolution (probabilities upsampled, then thresholded and post-processed, against the original
 * mask file), with the mean and standard deviation of every metric and a per-image CSV.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { ResolvedConfig } from '../graphs';
import type { Device } from '../onnx/session';
import type { ImageMetrics } from '../metrics';
import { findLabels, parseMix, readLabels } from '../data/labels';
import { checkOutputFile, isInside, writeFileAtomic } from '../util/atomic';
import { compareSettings, type SettingsComparison } from './compare';
import { perImageCsv, type ImageScore } from './csv';
import { forEachFullResolution } from './fullres';
import { FailureGallery } from './gallery';
import { openEnsemble } from './model';
import { writeMaskPng } from './pictures';
import { toMask } from './postprocess';
import { loadRunData, refuseTrainedOn, splitIndices, SPLITS, type SplitName } from './rundata';
import { meanStd, pooledMetrics, scoreMask } from './scores';
import { summariseEvaluation, type EvaluationSummary } from './summary';
import { PRESETS, resolveSettings, withThreshold, type InferenceRequest, type InferenceSettings } from './settings';
import { autoThreshold, type ThresholdChoice } from './threshold';

/** The study's headline figures (UNet_dilate + Tversky, 20 epochs, PH2), per split. */
export const STUDY_IOU = { valid: 0.825, test: 0.861 } as const;

export interface EvaluateOptions {
  /** One checkpoint, or several averaged (an ensemble; the first one's metadata and split speak for all). */
  checkpoint: string | string[];
  /** Dataset; default the one the checkpoint was trained on (its metadata). */
  data?: string;
  split?: SplitName;
  /** A split file; default the run's split.json beside the checkpoint. */
  splitFile?: string;
  /** Images per network run (each with all its TTA views). */
  batchSize?: number;
  device?: Device;
  /** onnxruntime intra-op threads (default: the cores this process may use). */
  threads?: number;
  /** Per-image CSV (default: defaultCsvPath). */
  csv?: string;
  /** Replace an existing --csv file (never a file evaluate reads). */
  force?: boolean;
  saveMasks?: string;
  /**
   * Per-image labels (CSV: ISIC 2017 Part 3, or id,label) for per-label figures; default labels.csv
   * in the data folder or above it, false = none.
   */
  labels?: string | false;
  /** Reweight the figures to this label mix (see parseMix in src/data/labels.ts). */
  weightsFrom?: string;
  /** Images in the failure gallery (the worst by IoU); default 8, 0 = none. */
  gallery?: number;
  inference?: InferenceRequest;
  cacheDir?: string | null;
  graphsDir?: string;
  log?: (s: string) => void;
}

export interface Evaluation {
  config: ResolvedConfig;
  /** The checkpoints averaged (one unless an ensemble). */
  checkpoints: string[];
  split: SplitName;
  data: { spec: string; layout: string };
  settings: InferenceSettings;
  /** Where the settings came from ('raw', 'preset best', 'the checkpoint', + flags). */
  origin: string;
  /** Set when the threshold was chosen on the validation split. */
  auto?: ThresholdChoice;
  images: ImageScore[];
  mean: ImageMetrics;
  std: ImageMetrics;
  /** One confusion matrix over all pixels of all images (as EGE-UNet's and MALUNet's code score). */
  pooled: ImageMetrics;
  csv: string;
  /** Median, thresholded Jaccard, failures; per label and reweighted when labels are known. */
  summary: EvaluationSummary;
  /** The labels file read, if any. */
  labels?: string;
  /** The failure gallery PNG and its images, worst first. */
  gallery?: { file: string; ids: string[] };
  /** The study's figure for this split on PH2 (only when the data is PH2). */
  reference?: { split: 'valid' | 'test'; iou: number } | { split: 'train' | 'all' };
}

/** The summary beside the per-image CSV (what `melseg chart` shows of an evaluation). */
export function summaryFile(csv: string): string {
  return csv.replace(/(\.csv)?$/i, '.summary.json');
}

/** The failure gallery beside the per-image CSV. */
export function galleryFile(csv: string): string {
  return csv.replace(/(\.csv)?$/i, '_worst.png');
}

/** What the summary file holds: the figures, the settings that made them, the gallery's file name. */
export interface SummaryRecord {
  split: SplitName;
  checkpoints: string[];
  data: string;
  settings: InferenceSettings;
  meanIou: number;
  /** IoU and Dice of one confusion matrix over all pixels (the lightweight-network papers' definition). */
  pooled?: { iou: number; dice: number };
  summary: EvaluationSummary;
  labels?: string;
  /** The gallery's file name, in the summary's folder. */
  gallery?: string;
}

function summaryRecord(e: Evaluation): SummaryRecord {
  const r: SummaryRecord = { split: e.split, checkpoints: e.checkpoints, data: e.data.spec, settings: e.settings, meanIou: e.mean.iou, pooled: { iou: e.pooled.iou, dice: e.pooled.dice }, summary: e.summary };
  if (e.labels) r.labels = e.labels;
  if (e.gallery) r.gallery = path.basename(e.gallery.file);
  return r;
}

/** SHA-256 of a file, read 16 MiB at a time (checkpoints may exceed what one read returns). */
function fileSha256(file: string): string {
  const h = createHash('sha256');
  const buf = Buffer.alloc(1 << 24);
  const fd = fs.openSync(file, 'r');
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/**
 * Where the per-image CSV goes without --csv: the checkpoint's run folder (run.json beside it), else
 * the current folder, so evaluating the shipped model never writes into melseg's package. A name an
 * earlier evaluation took gets -2, -3, ...: no result is replaced without being named.
 */
export function defaultCsvPath(checkpoint: string, name: string): string {
  const dir = fs.existsSync(path.join(path.dirname(checkpoint), 'run.json')) ? path.dirname(checkpoint) : '.';
  const stem = name.replace(/\.csv$/, '');
  let file = path.join(dir, name);
  for (let k = 2; fs.existsSync(file); k++) file = path.join(dir, `${stem}-${k}.csv`);
  return file;
}

/** The network, its data and the settings asked for; `compare` scores every combination instead. */
async function prepare(o: EvaluateOptions, compare: boolean) {
  const log = o.log ?? (() => undefined);
  const which = o.split ?? 'test';
  if (!(SPLITS as readonly string[]).includes(which)) throw new Error(`--split ${which}: expected test, valid, train or all`);
  const batchSize = o.batchSize ?? 8;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`--batch-size ${batchSize}: expected a whole number >= 1`);
  const net = await openEnsemble(o.checkpoint, { device: o.device, threads: o.threads, graphsDir: o.graphsDir, log });
  const r = resolveSettings(o.inference ?? {}, net.checkpoint.meta.inference);
  const auto = r.threshold === 'auto' && !compare;
  if (auto && (which === 'valid' || which === 'all'))
    throw new Error(`--threshold auto chooses the threshold on the valid split, so it cannot score --split ${which} (a tuned score is optimistic): use --split test, or give a number, e.g. --threshold 0.5`);
  const rd = await loadRunData({
    checkpoint: net.file,
    meta: net.checkpoint.meta,
    data: o.data,
    splitFile: o.splitFile,
    cacheDir: o.cacheDir,
    needSplit: which !== 'all' || auto,
    why: auto && which === 'all' ? '--threshold auto' : `--split ${which}`,
  });
  const indices = splitIndices(rd, which);
  refuseTrainedOn(rd, which, indices, net.members, log);
  return { log, which, batchSize, net, r, auto, rd, indices };
}

/**
 * Every combination of TTA, largest component and fill holes on the split, at the threshold asked
 * for (0.5 unless a number is given) and at the one auto would choose on the valid split.
 */
export async function compareCheckpointSettings(o: EvaluateOptions): Promise<SettingsComparison & { config: ResolvedConfig; data: string }> {
  const { which, batchSize, net, r, rd } = await prepare(o, true);
  const threshold = typeof r.threshold === 'number' ? r.threshold : PRESETS.raw.threshold;
  return { ...(await compareSettings(net, rd, which, { threshold, batchSize })), config: net.config, data: rd.spec };
}

type Prepared = Awaited<ReturnType<typeof prepare>>;

/**
 * The per-image CSV (--csv, else defaultCsvPath), checked before the network runs: --csv is new or
 * --force and no input; --save-masks is never inside --data.
 */
function checkedCsv(o: EvaluateOptions, { which, net, rd }: Prepared): string {
  const ensemble = net.members.length > 1 ? `_ensemble${net.members.length}` : '';
  const name = `eval_${which}${ensemble}.csv`;
  if (o.csv !== undefined)
    checkOutputFile(o.csv, {
      flag: '--csv',
      expected: 'a file name',
      noun: 'the per-image CSV',
      example: name,
      inputs: [...net.members.map((file) => ({ flag: '--checkpoint', file })), ...(rd.splitFile ? [{ flag: '--split-file', file: rd.splitFile }] : [])],
      inputDirs: rd.dataset.layout === 'synthetic' ? [] : [{ flag: '--data', dir: rd.dataset.root }],
      force: o.force,
    });
  if (o.saveMasks && rd.dataset.layout !== 'synthetic' && isInside(o.saveMasks, rd.dataset.root))
    throw new Error(`--save-masks ${o.saveMasks} is inside ${rd.dataset.root}, the --data folder melseg reads; it never writes there: choose a folder outside it, e.g. --save-masks masks/`);
  return o.csv ?? defaultCsvPath(net.file, name);
}

/** The labels (--labels, else a labels.csv found beside the data; none with false) and the --weights-from mix. */
function labelsAndMix(o: EvaluateOptions, rd: Prepared['rd']) {
  const labelsFile = o.labels === false ? undefined : (o.labels ?? findLabels(rd.spec));
  const labels = labelsFile ? readLabels(labelsFile) : undefined;
  const mix = o.weightsFrom ? { name: o.weightsFrom, counts: parseMix(o.weightsFrom) } : undefined;
  if (mix && !labels) throw new Error(`--weights-from ${o.weightsFrom} needs the images' labels, and no labels.csv was found beside ${rd.spec}: pass --labels FILE (image id and label per row)`);
  return { labelsFile, labels, mix };
}

/** Every image of the split scored at its original resolution; the worst kept by the gallery, masks saved if asked. */
async function scoreImages(
  o: EvaluateOptions,
  { batchSize, net, rd, indices }: Prepared,
  settings: InferenceSettings,
  labels: ReturnType<typeof readLabels> | undefined,
  gallery: FailureGallery,
): Promise<ImageScore[]> {
  const S = rd.dataset.size;
  if (o.saveMasks) fs.mkdirSync(o.saveMasks, { recursive: true });
  const images: ImageScore[] = [];
  await forEachFullResolution(net.run, rd.dataset, indices, { tta: settings.tta, batchSize, truth: rd.truth }, async (s) => {
    const mask = toMask(s.prob, s.width, s.height, settings);
    const score = scoreMask(mask, s.truth.data);
    images.push({ id: s.id, width: s.width, height: s.height, ...score });
    if (gallery.wants(score.iou)) {
      const image = rd.dataset.images.subarray(s.index * S * S * 3, (s.index + 1) * S * S * 3);
      gallery.add({ id: s.id, iou: score.iou, label: labels?.get(s.id), image, prob: s.prob, finalMask: mask, truth: s.truth.data, width: s.width, height: s.height });
    }
    if (o.saveMasks) await writeMaskPng(mask, s.width, s.height, path.join(o.saveMasks, `${s.id}_mask.png`));
  });
  return images;
}

export async function evaluateCheckpoint(o: EvaluateOptions): Promise<Evaluation> {
  const p = await prepare(o, false);
  const { log, which, batchSize, net, r, auto, rd } = p;
  const csv = checkedCsv(o, p);

  let choice: ThresholdChoice | undefined;
  if (auto) {
    choice = await autoThreshold(net, rd, r, batchSize);
    log(`threshold auto: ${choice.threshold} (mean IoU ${choice.table.find((t) => t.threshold === choice!.threshold)!.iou.toFixed(4)} on the ${choice.images} valid images)`);
  }
  const settings = withThreshold(r, choice ? choice.threshold : (r.threshold as number));
  // labels and mix are checked before the split is scored, so a typo costs little
  const { labelsFile, labels, mix } = labelsAndMix(o, rd);
  const gallery = new FailureGallery(o.gallery ?? 8, rd.dataset.size);
  const images = await scoreImages(o, p, settings, labels, gallery);

  const sha256 = net.members.map(fileSha256);
  await writeFileAtomic(csv, perImageCsv(images, { split: which, ...settings, origin: auto ? `${r.origin}; threshold chosen on the valid split` : r.origin, checkpoints: net.members, sha256 }));
  const worst = galleryFile(csv);
  const drawn = await gallery.write(worst);
  const { mean, std } = meanStd(images);
  const summary = summariseEvaluation(images, { labels, mix });
  const out: Evaluation = {
    config: net.config,
    checkpoints: net.members,
    split: which,
    data: { spec: rd.spec, layout: rd.dataset.layout },
    settings,
    origin: r.origin,
    images,
    mean,
    std,
    pooled: pooledMetrics(images),
    csv,
    summary,
  };
  if (labelsFile) out.labels = labelsFile;
  if (drawn) out.gallery = { file: worst, ids: gallery.ids() };
  await writeFileAtomic(summaryFile(csv), JSON.stringify(summaryRecord(out), null, 1) + '\n');
  if (choice) out.auto = choice;
  if (rd.dataset.layout === 'ph2') out.reference = which === 'valid' || which === 'test' ? { split: which, iou: STUDY_IOU[which] } : { split: which };
  return out;
}
