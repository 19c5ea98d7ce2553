/**
 * `melseg evaluate --compare-settings`: the mean IoU at full resolution of every combination of the
 * inference options (TTA x largest component x fill holes, at the fixed threshold and at the
 * threshold auto would choose) on one split, from one network run of the d4 views per image. This
 * is how a preset, or a checkpoint's own settings, is chosen by measurement.
 */
import { TTA_MODES, type Tta } from './settings';
import { forEachFullResolutionEveryTta } from './fullres';
import type { LoadedNetwork } from './model';
import { toMask } from './postprocess';
import { splitIndices, type RunData, type SplitName } from './rundata';
import { meanStdOf, scoreMask } from './scores';
import { ThresholdSearch } from './threshold';

export interface ComparisonRow {
  tta: Tta;
  largestComponent: boolean;
  fillHoles: boolean;
  /** Mean and std of IoU at the fixed threshold. */
  fixed: { mean: number; std: number };
  /** The threshold auto chose on the valid split and the scores with it (absent when scoring valid or all). */
  auto?: { threshold: number; mean: number; std: number };
}

export interface SettingsComparison {
  split: SplitName;
  images: number;
  threshold: number;
  /** Validation images auto chose its thresholds on (absent when scoring valid or all). */
  validImages?: number;
  rows: ComparisonRow[];
}

const COMBOS = TTA_MODES.flatMap((tta) => [false, true].flatMap((largestComponent) => [false, true].map((fillHoles) => ({ tta, largestComponent, fillHoles }))));
const key = (c: { tta: Tta; largestComponent: boolean; fillHoles: boolean }) => `${c.tta}/${c.largestComponent}/${c.fillHoles}`;

export async function compareSettings(net: LoadedNetwork, rd: RunData, which: SplitName, o: { threshold: number; batchSize: number }): Promise<SettingsComparison> {
  const withAuto = which !== 'valid' && which !== 'all';
  const searches = new Map(COMBOS.map((c) => [key(c), new ThresholdSearch(c)]));
  let validImages: number | undefined;
  if (withAuto) {
    const valid = splitIndices(rd, 'valid');
    validImages = valid.length;
    await forEachFullResolutionEveryTta(net.run, rd.dataset, valid, { batchSize: o.batchSize, truth: rd.truth }, (s) => {
      for (const c of COMBOS) searches.get(key(c))!.add(s.probs[c.tta], s.truth.data, s.width, s.height);
    });
  }
  const chosen = new Map(COMBOS.map((c) => [key(c), withAuto ? searches.get(key(c))!.choose().threshold : undefined]));
  const fixed = new Map(COMBOS.map((c) => [key(c), [] as number[]]));
  const auto = new Map(COMBOS.map((c) => [key(c), [] as number[]]));
  const indices = splitIndices(rd, which);
  await forEachFullResolutionEveryTta(net.run, rd.dataset, indices, { batchSize: o.batchSize, truth: rd.truth }, (s) => {
    for (const c of COMBOS) {
      const score = (threshold: number) => scoreMask(toMask(s.probs[c.tta], s.width, s.height, { ...c, threshold }), s.truth.data).iou;
      fixed.get(key(c))!.push(score(o.threshold));
      const t = chosen.get(key(c));
      if (t !== undefined) auto.get(key(c))!.push(score(t));
    }
  });
  const rows = COMBOS.map((c): ComparisonRow => {
    const t = chosen.get(key(c));
    return { ...c, fixed: meanStdOf(fixed.get(key(c))!), ...(t !== undefined ? { auto: { threshold: t, ...meanStdOf(auto.get(key(c))!) } } : {}) };
  });
  return { split: which, images: indices.length, threshold: o.threshold, ...(validImages !== undefined ? { validImages } : {}), rows };
}
