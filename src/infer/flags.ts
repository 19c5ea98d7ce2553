/** The inference flags evaluate and predict share, and the request they make. */
import { Flags } from '@oclif/core';
import { parseThreshold, PRESET_NAMES, TTA_MODES, type InferenceRequest, type Tta } from './settings';

export const inferenceFlags = {
  preset: Flags.string({ summary: `Named inference settings: ${PRESET_NAMES.join(', ')} (raw = the network as trained). Flags below override it.`, options: PRESET_NAMES }),
  tta: Flags.string({ summary: 'Test-time augmentation: none, flips (identity, h, v, hv) or d4 (the 8 flips and 90-degree rotations); probabilities averaged.', options: [...TTA_MODES] }),
  'largest-component': Flags.boolean({ summary: 'Keep only the largest 8-connected lesion region (--no-largest-component turns a preset\'s off).', allowNo: true }),
  'fill-holes': Flags.boolean({ summary: 'Fill background regions not connected to the image border (--no-fill-holes turns a preset\'s off).', allowNo: true }),
  threshold: Flags.string({ summary: 'Lesion where the probability is above this (0..1), or auto: the best of 0.30..0.70 on the run\'s valid split.' }),
};

/** Only what the user typed: absent flags stay undefined so the preset or checkpoint decides. */
export function inferenceRequest(flags: { preset?: string; tta?: string; 'largest-component'?: boolean; 'fill-holes'?: boolean; threshold?: string }): InferenceRequest {
  return {
    preset: flags.preset,
    tta: flags.tta as Tta | undefined,
    largestComponent: flags['largest-component'],
    fillHoles: flags['fill-holes'],
    threshold: flags.threshold === undefined ? undefined : parseThreshold(flags.threshold),
  };
}
