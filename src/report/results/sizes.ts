/**
 * Runs of different image sizes in one report (e.g. 64 px synthetic and 128 px ISIC runs charted
 * together) are different experiments: their IoUs must not share a bar or a "best" unmarked.
 */
import type { ResultRow } from './csv';

/** `UNet_dilate @ 64 px`: a model name marked with its runs' image size. */
export const SIZE_MARK = ' @ ';

export function sizedModel(model: string, size: number): string {
  return `${model}${SIZE_MARK}${size} px`;
}

/** The model name without its size mark. */
export function unsizedModel(model: string): string {
  const i = model.indexOf(SIZE_MARK);
  return i < 0 ? model : model.slice(0, i);
}

/** Image size in a default run id, `<Model>_<loss>_s<size>_w<width>_seed<seed>` (trainer.ts defaultRunId). */
export function sizeInRunId(run: string): number | undefined {
  const m = /_s(\d+)_w[\d.]+(?:_|$)/.exec(run);
  return m ? Number(m[1]) : undefined;
}

/**
 * When the rows hold runs of more than one known image size, every row of a run of known size gets its
 * model name marked with the size (sizedModel), so each model x size is a combination of its own in every
 * chart, table and best-run choice. Rows of one size (or of unknown sizes only) come back unchanged.
 */
export function markImageSizes(rows: readonly ResultRow[], sizeOf: (run: string) => number | undefined): ResultRow[] {
  const sizes = new Map<string, number | undefined>();
  for (const r of rows) if (!sizes.has(r.run)) sizes.set(r.run, sizeOf(r.run));
  const known = new Set([...sizes.values()].filter((s): s is number => s !== undefined));
  if (known.size < 2) return [...rows];
  return rows.map((r) => {
    const size = sizes.get(r.run);
    return size === undefined ? r : { ...r, model: sizedModel(r.model, size) };
  });
}
