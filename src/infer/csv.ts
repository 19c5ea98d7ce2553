/**
 * evaluate's per-image CSV. Cells are quoted per RFC 4180 where needed (a comma, quote or line
 * break in a file name), and a text cell starting with = + - @ (or a tab / carriage return) gets a
 * leading ' so a spreadsheet shows it as text instead of running it as a formula.
 */
import Papa from 'papaparse';
import type { Confusion, ImageMetrics } from '../train/metrics';

export interface ImageScore extends ImageMetrics, Confusion {
  id: string;
  /** Original resolution the image was scored at. */
  width: number;
  height: number;
}

export const CSV_COLUMNS = ['id', 'width', 'height', 'iou', 'dice', 'accuracy', 'sensitivity', 'specificity', 'tp', 'fp', 'fn', 'tn'] as const;

export function perImageCsv(rows: readonly ImageScore[]): string {
  return Papa.unparse({ fields: [...CSV_COLUMNS], data: rows.map((r) => CSV_COLUMNS.map((k) => r[k])) }, { newline: '\n', escapeFormulae: true }) + '\n';
}
