/**
 * evaluate's per-image CSV: one row per image, then on every row the settings that made it (so a file
 * found later says what it measured, and stays one plain table that papaparse or a spreadsheet loads). Cells are quoted per RFC 4180 where needed (a comma, quote or line
 * break in a file name), and a text cell starting with = + - @ (or a tab / carriage return) gets a
 * leading ' so a spreadsheet shows it as text instead of running it as a formula.
 */
import Papa from 'papaparse';
import type { Confusion, ImageMetrics } from '../metrics';

export interface ImageScore extends ImageMetrics, Confusion {
  id: string;
  /** Original resolution the image was scored at. */
  width: number;
  height: number;
}

export const CSV_COLUMNS = ['id', 'width', 'height', 'iou', 'dice', 'accuracy', 'sensitivity', 'specificity', 'tp', 'fp', 'fn', 'tn'] as const;

/** What made the scores, repeated on every row. */
export interface CsvSettings {
  split: string;
  tta: string;
  threshold: number;
  largestComponent: boolean;
  fillHoles: boolean;
  /** Where the settings came from ('preset best', 'raw + flags', ...). */
  origin: string;
  /** The checkpoints averaged, and the SHA-256 of each file, in the same order. */
  checkpoints: readonly string[];
  sha256: readonly string[];
}

export const SETTINGS_COLUMNS = ['split', 'tta', 'threshold', 'largest_component', 'fill_holes', 'settings', 'checkpoint', 'checkpoint_sha256'] as const;

export function perImageCsv(rows: readonly ImageScore[], s: CsvSettings): string {
  const tail = [s.split, s.tta, s.threshold, s.largestComponent, s.fillHoles, s.origin, s.checkpoints.join(' + '), s.sha256.join(' + ')];
  return (
    Papa.unparse(
      { fields: [...CSV_COLUMNS, ...SETTINGS_COLUMNS], data: rows.map((r) => [...CSV_COLUMNS.map((k) => r[k]), ...tail]) },
      { newline: '\n', escapeFormulae: true },
    ) + '\n'
  );
}
