/**
 * `--threshold auto`: the threshold on a fixed grid that maximises mean IoU over the run's
 * VALIDATION images (never the images being scored, which would report a tuned, optimistic score).
 * Each candidate is scored with the same post-processing the final masks get.
 */
import { imageMetrics } from '../metrics';
import { forEachFullResolution } from './fullres';
import type { LoadedNetwork } from './model';
import { toMask } from './postprocess';
import { refuseTrainedOn, splitIndices, type RunData } from './rundata';
import { maskConfusion } from './scores';
import type { InferenceSettings } from './settings';

/** 0.30, 0.35, ..., 0.70 (as exact decimals, not accumulated sums). */
export const THRESHOLD_GRID: readonly number[] = Array.from({ length: 9 }, (_, k) => (30 + 5 * k) / 100);

export interface ThresholdChoice {
  threshold: number;
  /** Mean IoU at each grid threshold, in grid order. */
  table: { threshold: number; iou: number }[];
  images: number;
}

/** Accumulates per-threshold IoU sums one image at a time (nothing is kept per image). */
export class ThresholdSearch {
  private readonly sums = new Float64Array(THRESHOLD_GRID.length);
  private n = 0;

  constructor(private readonly post: { largestComponent: boolean; fillHoles: boolean }) {}

  add(prob: ArrayLike<number>, truth: Uint8Array, w: number, h: number): void {
    THRESHOLD_GRID.forEach((threshold, k) => {
      this.sums[k] += imageMetrics(maskConfusion(toMask(prob, w, h, { ...this.post, threshold }), truth)).iou;
    });
    this.n++;
  }

  /** The best mean IoU; ties go to the threshold nearest 0.5, then the lower one. */
  choose(): ThresholdChoice {
    if (!this.n) throw new Error('--threshold auto: the validation split has no images to choose a threshold on; give a number, e.g. --threshold 0.5');
    const table = THRESHOLD_GRID.map((threshold, k) => ({ threshold, iou: this.sums[k] / this.n }));
    let best = table[0];
    for (const r of table.slice(1)) {
      if (r.iou > best.iou || (r.iou === best.iou && Math.abs(r.threshold - 0.5) < Math.abs(best.threshold - 0.5))) best = r;
    }
    return { threshold: best.threshold, table, images: this.n };
  }
}

/**
 * The grid threshold that maximises mean IoU over the run's validation split, at full resolution;
 * refused when a checkpoint trained on those images (the choice would be tuned on training data).
 */
export async function autoThreshold(
  net: LoadedNetwork,
  rd: RunData,
  s: Pick<InferenceSettings, 'tta' | 'largestComponent' | 'fillHoles'>,
  batchSize: number,
): Promise<ThresholdChoice> {
  const valid = splitIndices(rd, 'valid');
  refuseTrainedOn(rd, 'valid', valid, net.members);
  const search = new ThresholdSearch(s);
  await forEachFullResolution(net.run, rd.dataset, valid, { tta: s.tta, batchSize, truth: rd.truth }, (x) =>
    search.add(x.prob, x.truth.data, x.width, x.height),
  );
  return search.choose();
}
