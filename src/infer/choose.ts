/**
 * The inference settings a trained checkpoint carries (meta.inference, which predict, evaluate and
 * export apply unless told otherwise), chosen by measurement on the run's own validation images:
 * the preset (PRESETS) of the highest mean IoU at full resolution, `raw` on a tie. Only the named
 * presets compete, not all twelve combinations of --compare-settings: with 25 validation images (a
 * PH2-sized split) a choice among many would fit the noise. The test images are never looked at.
 */
import { loadCheckpoint, saveCheckpoint } from '../checkpoint/checkpoint';
import { compareSettings } from './compare';
import { openEnsemble } from './model';
import { loadRunData } from './rundata';
import { PRESET_NAMES, PRESETS, type PresetName } from './settings';

export interface SettingsChoice {
  preset: PresetName;
  /** Validation images measured. */
  images: number;
  /** Mean IoU of each preset on them. */
  iou: Record<PresetName, number>;
}

/** The preset of the highest mean IoU; the first (raw) wins ties: extra work at inference must measure better. */
export function pickPreset(iou: Readonly<Record<PresetName, number>>): PresetName {
  return PRESET_NAMES.reduce((best, name) => (iou[name] > iou[best] ? name : best), PRESET_NAMES[0]);
}

export async function chooseInferenceSettings(
  checkpoint: string,
  o: { cacheDir?: string | null; graphsDir?: string; batchSize?: number; log?: (s: string) => void } = {},
): Promise<SettingsChoice> {
  const net = await openEnsemble(checkpoint, { graphsDir: o.graphsDir, log: o.log });
  const rd = await loadRunData({ checkpoint: net.file, meta: net.checkpoint.meta, cacheDir: o.cacheDir, needSplit: true, why: 'choosing the inference settings on the valid split' });
  const table = await compareSettings(net, rd, 'valid', { threshold: 0.5, batchSize: o.batchSize ?? 8 });
  const iou = {} as Record<PresetName, number>;
  for (const name of PRESET_NAMES) {
    const p = PRESETS[name];
    const row = table.rows.find((r) => r.tta === p.tta && r.largestComponent === p.largestComponent && r.fillHoles === p.fillHoles);
    if (!row) throw new Error(`preset ${name} is not among the compared settings; src/infer/compare.ts and settings.ts disagree`);
    iou[name] = row.fixed.mean;
  }
  const preset = pickPreset(iou);
  const ck = loadCheckpoint(checkpoint);
  ck.meta = { ...ck.meta, inference: { ...PRESETS[preset] }, inferenceChosenOn: { split: 'valid', images: table.images, preset, iou } };
  await saveCheckpoint(checkpoint, ck);
  return { preset, images: table.images, iou };
}
