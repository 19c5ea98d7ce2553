/** Geometry of a prediction grid: where each tile, caption, header and the legend go. */

export interface GridOptions {
  /** White gap between and around tiles, 2..4 px. Default 3. */
  gutter?: number;
  /** Column titles row. Default true. */
  header?: boolean;
  /** A caption strip above each row: id and the thresholded IoU. Default true. */
  captions?: boolean;
  /** A footer line explaining the overlay colours. Default true. */
  legend?: boolean;
  threshold?: number;
}

export interface GridLayout {
  width: number;
  height: number;
  gutter: number;
  fontPx: number;
  headerH: number;
  captionH: number;
  legendH: number;
  /** Top-left of tile (row, col), col 0 image, 1 prediction, 2 ground truth, 3 overlay. */
  tile(row: number, col: number): { x: number; y: number };
}

export const GRID_COLUMNS = ['image', 'prediction', 'ground truth', 'overlay'] as const;

/**
 * width = 4S + 5g; height = g + header + n(caption + S + g) + legend, where header = legend = font + 8 and
 * caption = font + 4 when enabled (0 otherwise), font = clamp(round(S / 11), 10, 16) px.
 */
export function gridLayout(n: number, S: number, opts: GridOptions = {}): GridLayout {
  const g = opts.gutter ?? 3;
  if (!Number.isInteger(g) || g < 2 || g > 4) throw new Error(`prediction grid: expected gutter 2..4 px; found ${g}.`);
  const fontPx = Math.min(16, Math.max(10, Math.round(S / 11)));
  const headerH = opts.header === false ? 0 : fontPx + 8;
  const captionH = opts.captions === false ? 0 : fontPx + 4;
  const legendH = opts.legend === false ? 0 : fontPx + 8;
  const rowH = captionH + S + g;
  return {
    width: 4 * S + 5 * g,
    height: g + headerH + n * rowH + legendH,
    gutter: g,
    fontPx,
    headerH,
    captionH,
    legendH,
    tile: (row, col) => ({ x: g + col * (S + g), y: g + headerH + row * rowH + captionH }),
  };
}
