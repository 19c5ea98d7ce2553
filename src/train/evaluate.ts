/**
 * `melseg evaluate` and `melseg predict`: a checkpoint carries its model, loss, image size and width
 * in its metadata, so it is all a user has to name.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { decodeImage, indicesOf, loadDataset, loadSplit, resizeBilinear, toTensor } from '../data';
import { ensureGraphs, GRAPH_FILES, parameterSpecs, resolveConfig, ResolvedConfig } from '../graphs';
import * as N from '../onnx/names';
import { saveMaskPng, saveOverlayPng } from '../report/grid';
import { writeFileAtomic } from '../util/atomic';
import { Checkpoint, loadCheckpoint } from './checkpoint';
import { Device, openSession } from '../onnx/session';
import { ModelState } from './state';
import { evaluateSamples, SplitEvaluation } from './validate';

export interface LoadedModel {
  config: ResolvedConfig;
  state: ModelState;
  checkpoint: Checkpoint;
}

export function loadModel(file: string): LoadedModel {
  if (!fs.existsSync(file)) throw new Error(`checkpoint ${file} does not exist; train one with \`melseg train\` (it writes artifacts/<run>/best.ckpt)`);
  const ck = loadCheckpoint(file);
  const m = ck.meta;
  if (m.model === undefined || m.imageSize === undefined || m.width === undefined) {
    throw new Error(`checkpoint ${file} has no melseg metadata (model, image size, width); it was not written by melseg train or build-graph`);
  }
  const config = resolveConfig({ model: m.model, loss: m.loss, imageSize: m.imageSize, width: m.width });
  return { config, state: ModelState.fromCheckpoint(ck, parameterSpecs(config), config), checkpoint: ck };
}

export interface EvaluateCheckpointOptions {
  checkpoint: string;
  /** Dataset; default the one the checkpoint was trained on (its metadata). */
  data?: string;
  /** test | valid | train | all (default test). */
  split?: string;
  /** A split file; default the run's split.json beside the checkpoint. */
  splitFile?: string;
  batchSize?: number;
  device?: Device;
  /** Per-image CSV (default <checkpoint dir>/eval_<split>.csv). */
  csv?: string;
  saveMasks?: string;
  cacheDir?: string | null;
  graphsDir?: string;
  log?: (s: string) => void;
}

export interface CheckpointEvaluation extends SplitEvaluation {
  split: string;
  csv: string;
  config: ResolvedConfig;
}

export async function evaluateCheckpoint(o: EvaluateCheckpointOptions): Promise<CheckpointEvaluation> {
  const log = o.log ?? (() => undefined);
  const { config: c, state, checkpoint } = loadModel(o.checkpoint);
  const data = o.data ?? (checkpoint.meta.dataset as string | undefined);
  if (!data) throw new Error(`${o.checkpoint} does not record its dataset: pass --data (a PH2 or ISIC folder, or synthetic[:N])`);
  const dataset = await loadDataset(data, { imageSize: c.imageSize, cacheDir: o.cacheDir });
  const which = o.split ?? 'test';
  let indices: number[];
  if (which === 'all') indices = dataset.ids.map((_, i) => i);
  else {
    if (!['train', 'valid', 'test'].includes(which)) throw new Error(`--split ${which}: expected test, valid, train or all`);
    const file = o.splitFile ?? path.join(path.dirname(o.checkpoint), 'split.json');
    if (!fs.existsSync(file)) throw new Error(`no split file ${file} for --split ${which}: pass --split-file, or --split all to score every image`);
    const split = loadSplit(file, dataset.ids);
    indices = indicesOf(dataset.ids, split[which as 'train' | 'valid' | 'test']);
    if (!indices.length) throw new Error(`the ${which} split of ${file} is empty; choose another --split`);
  }
  const graphs = await ensureGraphs(c, { root: o.graphsDir, device: o.device, kinds: ['eval'], log });
  const session = await openSession(path.join(graphs.dir, GRAPH_FILES.eval), o.device ?? 'cpu');
  const S = c.imageSize;
  const masksDir = o.saveMasks;
  if (masksDir) fs.mkdirSync(masksDir, { recursive: true });
  const r = await evaluateSamples(session, graphs.manifest.graphs.eval.inputs, state, dataset, indices, {
    batchSize: o.batchSize ?? 8,
    onProbabilities: masksDir
      ? async (idx, prob) => {
          for (let k = 0; k < idx.length; k++) {
            const [w, h] = dataset.origSizes[idx[k]];
            await saveMaskPng(prob.subarray(k * S * S, (k + 1) * S * S), w, h, path.join(masksDir, `${dataset.ids[idx[k]]}_mask.png`));
          }
        }
      : undefined,
  });
  const csv = o.csv ?? path.join(path.dirname(o.checkpoint), `eval_${which}.csv`);
  const header = 'id,iou,dice,accuracy,sensitivity,specificity,tp,fp,fn,tn';
  const lines = r.images.map((m) => [m.id, m.iou, m.dice, m.accuracy, m.sensitivity, m.specificity, m.tp, m.fp, m.fn, m.tn].join(','));
  await writeFileAtomic(csv, [header, ...lines].join('\n') + '\n');
  return { ...r, split: which, csv, config: c };
}

export interface PredictOptions {
  checkpoint: string;
  images: string[];
  out: string;
  device?: Device;
  graphsDir?: string;
  log?: (s: string) => void;
}

/** Masks (PNG, original size, 0/255) and overlays for images without masks. */
export async function predictImages(o: PredictOptions): Promise<{ mask: string; overlay: string; lesionFraction: number }[]> {
  if (!o.images.length) throw new Error('predict: no images given; name one or more image files');
  const { config: c, state } = loadModel(o.checkpoint);
  const graphs = await ensureGraphs(c, { root: o.graphsDir, device: o.device, kinds: ['inference'], log: o.log });
  const session = await openSession(path.join(graphs.dir, GRAPH_FILES.inference), o.device ?? 'cpu');
  const params = state.feeds(graphs.manifest.graphs.inference.inputs);
  fs.mkdirSync(o.out, { recursive: true });
  const S = c.imageSize;
  const results = [];
  for (const file of o.images) {
    if (!fs.existsSync(file)) throw new Error(`image ${file} does not exist`);
    const img = await decodeImage(file);
    const x = toTensor(resizeBilinear(img, S));
    const out = await session.run({ ...params, [N.IMAGE]: new ort.Tensor('float32', x, [1, 3, S, S]) });
    const prob = out[N.PROBABILITY].data as Float32Array;
    const stem = path.basename(file).replace(/\.[^.]+$/, '');
    const mask = path.join(o.out, `${stem}_mask.png`);
    const overlay = path.join(o.out, `${stem}_overlay.png`);
    await saveMaskPng(prob, img.width, img.height, mask);
    await saveOverlayPng(img.data, prob, img.width, img.height, overlay);
    let fg = 0;
    for (const p of prob) if (p > 0.5) fg++;
    results.push({ mask, overlay, lesionFraction: fg / prob.length });
  }
  return results;
}
