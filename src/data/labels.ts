/**
 * Per-image labels (a diagnosis, or any group) and label mixes, so a score can be given per group
 * and reweighted to another set's mix: a random split of the ISIC 2017 training images holds 13%
 * seborrheic keratoses, the official validation set 28%.
 *
 * Two CSV forms are read:
 *   - ISIC 2017 Part 3 ground truth: image_id,melanoma,seborrheic_keratosis (0/1 each; both 0 = nevus);
 *   - any two columns: image id, label.
 */
import * as fs from 'fs';
import * as path from 'path';
import Papa from 'papaparse';

export type Labels = ReadonlyMap<string, string>;

/**
 * Label mixes of the official sets the 2000 ISIC 2017 training images stand in for (counts of images;
 * Codella et al. 2017, "Skin lesion analysis toward melanoma detection", ISBI challenge, Table 1).
 */
export const NAMED_MIXES: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  'isic2017-validation': { nevus: 78, melanoma: 30, seborrheic_keratosis: 42 },
  'isic2017-test': { nevus: 393, melanoma: 117, seborrheic_keratosis: 90 },
  'isic2017-training': { nevus: 1372, melanoma: 374, seborrheic_keratosis: 254 },
};

const LABELS_FILE = 'labels.csv';

/** The group of an image the labels file does not name. */
export const UNLABELLED = 'unlabelled';

/** labels.csv in the dataset folder or the folder above it (ISIC downloads keep it beside train/), if any. */
export function findLabels(dataSpec: string): string | undefined {
  if (dataSpec.startsWith('synthetic')) return undefined;
  const dir = path.resolve(dataSpec);
  for (const f of [path.join(dir, LABELS_FILE), path.join(path.dirname(dir), LABELS_FILE)]) if (fs.existsSync(f)) return f;
  return undefined;
}

function isicDiagnosis(melanoma: string, keratosis: string): string | null {
  const m = Number(melanoma);
  const k = Number(keratosis);
  if (!(m === 0 || m === 1) || !(k === 0 || k === 1) || m + k > 1) return null;
  return m ? 'melanoma' : k ? 'seborrheic_keratosis' : 'nevus';
}

/** Reads a labels CSV (see the file comment); errors name the file, the row and what was found. */
export function readLabels(file: string): Map<string, string> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`labels file ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); pass --labels with a CSV of image id and label`);
  }
  const rows = Papa.parse<string[]>(text.trim(), { skipEmptyLines: true }).data;
  if (rows.length < 2) throw new Error(`labels file ${file}: expected a header and at least one row, found ${rows.length} line(s)`);
  const header = rows[0].map((h) => h.trim().toLowerCase());
  const isic = header.length === 3 && header[1] === 'melanoma' && header[2] === 'seborrheic_keratosis';
  if (!isic && header.length !== 2)
    throw new Error(`labels file ${file}: expected the columns image_id,melanoma,seborrheic_keratosis (ISIC 2017) or two columns id,label; found ${rows[0].join(',')}`);
  const out = new Map<string, string>();
  rows.slice(1).forEach((r, k) => {
    const at = `labels file ${file}, row ${k + 2}`;
    if (r.length !== header.length) throw new Error(`${at}: expected ${header.length} cells, found ${r.length} (${r.join(',')})`);
    const id = r[0].trim();
    const label = isic ? isicDiagnosis(r[1], r[2]) : r[1].trim();
    if (!id || !label) throw new Error(`${at}: expected an id and ${isic ? 'melanoma and seborrheic_keratosis of 0 or 1 (not both 1)' : 'a label'}, found ${r.join(',')}`);
    out.set(id, label);
  });
  return out;
}

/** How many images of each label. */
export function labelCounts(labels: Iterable<string>): Record<string, number> {
  const n: Record<string, number> = {};
  for (const l of labels) n[l] = (n[l] ?? 0) + 1;
  return n;
}

/**
 * A mix from `--weights-from`: a named mix (NAMED_MIXES), label=count pairs
 * (`nevus=78,melanoma=30,seborrheic_keratosis=42`), or a labels CSV whose counts give the mix.
 */
/**
 * "label=N,label=N" (spaces around ',' and '=' allowed) -> {label: N}, the format of --oversample and
 * --weights-from; `bad` is the first part that is not label=number. Each flag checks its own numbers.
 */
export function parseLabelNumbers(spec: string): { values: Record<string, number> } | { bad: string } {
  const values: Record<string, number> = {};
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([^=]+?)\s*=\s*([^=]+)$/.exec(part);
    const n = m ? Number(m[2]) : NaN;
    if (!m || !Number.isFinite(n)) return { bad: part };
    values[m[1]] = n;
  }
  return { values };
}

export function parseMix(spec: string): Record<string, number> {
  const named = NAMED_MIXES[spec];
  if (named) return { ...named };
  if (spec.includes('=')) {
    const notCount = (part: string) => new Error(`--weights-from ${spec}: "${part}" is not label=count; e.g. --weights-from nevus=78,melanoma=30,seborrheic_keratosis=42`);
    const parsed = parseLabelNumbers(spec);
    if ('bad' in parsed) throw notCount(parsed.bad);
    const mix = parsed.values;
    const negative = Object.entries(mix).find(([, n]) => n < 0);
    if (negative) throw notCount(negative.join('='));
    if (!Object.values(mix).some((n) => n > 0)) throw new Error(`--weights-from ${spec}: every count is 0; give at least one positive count`);
    return mix;
  }
  if (fs.existsSync(spec)) return labelCounts(readLabels(spec).values());
  throw new Error(
    `--weights-from ${spec}: expected a mix name (${Object.keys(NAMED_MIXES).join(', ')}), label=count pairs (nevus=78,melanoma=30,seborrheic_keratosis=42) or a labels CSV; found neither a name nor a file`,
  );
}

/**
 * Training indices with each image of a label in `copies` repeated that many times (the loader gives
 * every copy its own augmentation); images of other labels, or without a label, appear once.
 */
export function oversampledIndices(indices: readonly number[], ids: readonly string[], labels: Labels, copies: Readonly<Record<string, number>>): number[] {
  return indices.flatMap((i) => {
    const label = labels.get(ids[i] ?? '');
    return Array<number>(label !== undefined ? (copies[label] ?? 1) : 1).fill(i);
  });
}
