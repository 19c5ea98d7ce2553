/**
 * The inference settings a checkpoint may carry (meta.inference): the stored format and its check.
 * Here, below both training and inference, because a checkpoint is validated when it is read and
 * both sides read checkpoints; the presets and the resolution of flags stay in src/infer/settings.ts.
 */

export const TTA_MODES = ['none', 'flips', 'd4'] as const;
export type Tta = (typeof TTA_MODES)[number];

export interface InferenceSettings {
  /** none; flips = identity, h, v, hv; d4 = the 8 flips and rotations by 90 degrees. */
  tta: Tta;
  /** Keep only the largest 8-connected lesion component. */
  largestComponent: boolean;
  /** Fill background regions not 4-connected to the image border. */
  fillHoles: boolean;
  /** A pixel is lesion when its probability is strictly above this. */
  threshold: number;
}

/** The fields of InferenceSettings: the one list the check and the resolution of flags read. */
export const SETTING_FIELDS = ['tta', 'largestComponent', 'fillHoles', 'threshold'] as const satisfies readonly (keyof InferenceSettings)[];

/** null when `v` is valid InferenceSettings, else what is wrong with it (for errors naming the file). */
export function inferenceSettingsProblem(v: unknown): string | null {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return `expected an object {${SETTING_FIELDS.join(', ')}}, found ${JSON.stringify(v)}`;
  const s = v as Record<string, unknown>;
  if (!(TTA_MODES as readonly unknown[]).includes(s.tta)) return `tta is ${JSON.stringify(s.tta)}, expected one of ${TTA_MODES.join(', ')}`;
  for (const k of ['largestComponent', 'fillHoles'])
    if (typeof s[k] !== 'boolean') return `${k} is ${JSON.stringify(s[k])}, expected true or false`;
  if (typeof s.threshold !== 'number' || !(s.threshold > 0 && s.threshold < 1)) return `threshold is ${JSON.stringify(s.threshold)}, expected a number in (0, 1)`;
  const extra = Object.keys(s).filter((k) => !(SETTING_FIELDS as readonly string[]).includes(k));
  if (extra.length) return `unknown field(s) ${extra.join(', ')}; expected only ${SETTING_FIELDS.join(', ')}`;
  return null;
}
