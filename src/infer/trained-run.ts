/**
 * The study's --evaluate: after a fit, best.ckpt scored on the run's test split as `melseg evaluate`
 * scores it (each image at its original resolution, the network as trained: preset raw). A step of
 * the callers of the fit (`melseg train`, the sweep), not of the trainer: training stays below
 * inference and never imports it.
 */
import type { Device } from '../onnx/session';
import { evaluateCheckpoint, type Evaluation } from './evaluate';

/** What the scoring reads of a fit's result (train/trainer.ts's TrainResult has these fields). */
export interface TrainedRun {
  settings: { data: string };
  best: { epoch: number } | null;
  bestCheckpoint: string | null;
  /** The split file in the run folder. */
  splitFile: string;
  testImages: number;
  /** Every epoch trained, or early stopping ended the run. */
  finished: boolean;
}

/** null (nothing scored) for an unfinished run, one without best.ckpt, or an empty test split. */
export async function evaluateTrainedRun(
  run: TrainedRun,
  o: { cacheDir?: string | null; graphsDir?: string; device?: Device; log: (line: string) => void },
): Promise<Evaluation | null> {
  if (!run.finished || !run.bestCheckpoint || !run.best || run.testImages === 0) return null;
  const e = await evaluateCheckpoint({ checkpoint: run.bestCheckpoint, data: run.settings.data, split: 'test', splitFile: run.splitFile, cacheDir: o.cacheDir, graphsDir: o.graphsDir, device: o.device, inference: { preset: 'raw' } });
  const m = e.mean;
  o.log(
    `test (${e.images.length} images at their original size, best.ckpt from epoch ${run.best.epoch}): IoU ${m.iou.toFixed(4)} (std ${e.std.iou.toFixed(4)}), ` +
      `Dice ${m.dice.toFixed(4)}, accuracy ${m.accuracy.toFixed(4)}, sensitivity ${m.sensitivity.toFixed(4)}, specificity ${m.specificity.toFixed(4)}; per image: ${e.csv}`,
  );
  return e;
}
