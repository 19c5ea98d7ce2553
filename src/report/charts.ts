/**
 * Charts and the HTML report of a sweep, from results rows (see results.ts).
 *
 * Every chart is drawn from the latest run of each (model, criterion) (the run bestPerCombination
 * summarises), so a rerun replaces, not overlays, its predecessor. Blank/NaN values become gaps; a point
 * with no neighbour (a single epoch, or one between gaps) is drawn as a dot so it stays visible.
 *
 * Colours are Okabe-Ito (colour-blind safe), yellow left out: it vanishes on white. A model keeps its
 * colour in every chart of one report (assigned in model-table order over the models present).
 */
import * as fs from 'fs';
import * as path from 'path';
import { createCanvas, loadImage } from 'canvas';
import type { CanvasRenderingContext2D } from 'canvas';
import { ChartJSNodeCanvas } from 'chartjs-node-canvas';
import type { Chart, ChartConfiguration, ChartDataset, Plugin, Scale } from 'chart.js';
import writeFileAtomic from 'write-file-atomic';
import { LOSS_NAMES, MODEL_NAMES, compareNames } from './names';
import { CombinationSummary, ResultRow, bestPerCombination, latestRunRows } from './results';

export const PALETTE: readonly string[] = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];

export interface DrawChartsOptions {
  /** "model|criterion" -> PNG of its prediction grid (see predictionGrid), embedded in report.html. */
  grids?: Record<string, string>;
  /** Page and figure title. */
  title?: string;
  /** How many combinations curves_top.png shows. Default 5. */
  top?: number;
}

export interface ChartFiles {
  curves: string;
  curvesTop: string;
  metrics: string;
  report: string;
}

const FONT = 'sans-serif';
const TEXT = '#222222';

/** Fills the canvas white before Chart.js draws (chartjs-node-canvas leaves it transparent). */
const whiteBackground: Plugin = {
  id: 'melsegWhiteBackground',
  beforeDraw(chart: Chart) {
    const ctx = chart.ctx;
    ctx.save();
    ctx.globalCompositeOperation = 'destination-over';
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, chart.width, chart.height);
    ctx.restore();
  },
};

/** One renderer per size: each ChartJSNodeCanvas loads its own copy of Chart.js (slow), so reuse them. */
const renderers = new Map<string, ChartJSNodeCanvas>();
function renderer(width: number, height: number): ChartJSNodeCanvas {
  const key = `${width}x${height}`;
  let r = renderers.get(key);
  if (!r) {
    r = new ChartJSNodeCanvas({
      width,
      height,
      chartCallback: (ChartJS) => {
        ChartJS.defaults.font.family = FONT;
        ChartJS.defaults.color = TEXT;
        ChartJS.defaults.animation = false;
        ChartJS.defaults.responsive = false;
      },
    });
    renderers.set(key, r);
  }
  return r;
}

async function render(width: number, height: number, config: ChartConfiguration): Promise<Buffer> {
  config.plugins = [...(config.plugins ?? []), whiteBackground];
  return renderer(width, height).renderToBuffer(config, 'image/png');
}

// ---------------------------------------------------------------------------------------------------------
// Data shaping

type Point = { x: number; y: number | null };

interface Series {
  model: string;
  criterion: string;
  /** Sorted by epoch, one row per epoch (the last written wins). */
  rows: ResultRow[];
}

function comboKey(model: string, criterion: string): string {
  return `${model}|${criterion}`;
}

function seriesByCombination(rows: readonly ResultRow[]): Map<string, Series> {
  const out = new Map<string, Series>();
  for (const r of latestRunRows(rows)) {
    const k = comboKey(r.model, r.criterion);
    let s = out.get(k);
    if (!s) {
      s = { model: r.model, criterion: r.criterion, rows: [] };
      out.set(k, s);
    }
    const last = s.rows[s.rows.length - 1];
    if (last && last.epoch === r.epoch) s.rows[s.rows.length - 1] = r;
    else s.rows.push(r);
  }
  return out;
}

function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

function points(rows: readonly ResultRow[], pick: (r: ResultRow) => number): Point[] {
  return rows.map((r) => ({ x: r.epoch, y: finite(pick(r)) }));
}

/** Per-point radius: `base`, but `dot` where a value has no drawn neighbour (else a lone value is invisible). */
function radii(pts: readonly Point[], base: number, dot: number): number[] {
  return pts.map((p, i) => {
    if (p.y === null) return 0;
    const prev = i > 0 && pts[i - 1].y !== null && pts[i - 1].x === p.x - 1;
    const next = i < pts.length - 1 && pts[i + 1].y !== null && pts[i + 1].x === p.x + 1;
    return prev || next ? base : dot;
  });
}

function uniqueSorted(values: Iterable<string>, table: readonly string[]): string[] {
  return [...new Set(values)].sort((a, b) => compareNames(table, a, b));
}

function modelColours(rows: readonly ResultRow[]): Map<string, string> {
  const m = new Map<string, string>();
  uniqueSorted(
    rows.map((r) => r.model),
    MODEL_NAMES,
  ).forEach((name, i) => m.set(name, PALETTE[i % PALETTE.length]));
  return m;
}

/** Integer epoch ticks only (a linear axis would otherwise label 1.5, or 0.5 around a single epoch). */
function epochAxis(maxEpoch: number, title: boolean) {
  return {
    type: 'linear' as const,
    min: maxEpoch <= 1 ? 0.5 : 1,
    max: maxEpoch <= 1 ? 1.5 : maxEpoch,
    title: { display: title, text: 'epoch' },
    ticks: { precision: 0, maxTicksLimit: 11 },
    afterBuildTicks: (scale: Scale) => {
      scale.ticks = scale.ticks.filter((t) => Number.isInteger(t.value));
    },
  };
}

/**
 * IoU axis zoomed to the data: [min - below, max + above], clipped to [0, 1] and rounded out to whole
 * ticks, step 0.05 for a span up to 0.4 and 0.1 above (so no tick sits off the grid, e.g. a "0.15" labelled "0.2").
 */
function zoomedAxis(values: readonly number[], below: number, above: number) {
  const v = values.filter(Number.isFinite);
  let lo = v.length ? Math.max(0, Math.min(...v) - below) : 0;
  let hi = v.length ? Math.min(1, Math.max(...v) + above) : 1;
  const step = hi - lo > 0.4 ? 0.1 : 0.05;
  // 1e-9 guards floor/ceil against 0.7999999 style float error.
  lo = Math.max(0, Math.floor(lo / step + 1e-9) * step);
  hi = Math.min(1, Math.ceil(hi / step - 1e-9) * step);
  if (hi - lo < step) {
    // All values equal (one combination): show one step around them.
    hi = Math.min(1, lo + step);
    lo = hi - step;
  }
  const digits = step === 0.1 ? 1 : 2;
  return {
    min: lo,
    max: hi,
    ticks: { stepSize: step, callback: (t: string | number) => Number(t).toFixed(digits) },
  };
}

function fmt(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '–';
}

// ---------------------------------------------------------------------------------------------------------
// curves.png: facet grid, one panel per loss

const PANEL_W = 420;
const PANEL_H = 290;

/** Line styles, shared by the panels and the figure legend. */
/**
 * Line styles, shared by the panels and the figure legend. The marker shape tells the quantities apart
 * where there is no line to dash (a single epoch, a value between gaps); IoU lines always carry markers.
 */
const STYLE = {
  train: { borderWidth: 1.4, borderDash: [] as number[], pointStyle: 'circle' as const },
  valid: { borderWidth: 1.4, borderDash: [6, 4], pointStyle: 'triangle' as const },
  iou: { borderWidth: 2.6, borderDash: [] as number[], pointStyle: 'rect' as const },
};
type LineStyle = (typeof STYLE)[keyof typeof STYLE];

function panelConfig(criterion: string, series: Series[], colours: Map<string, string>, maxEpoch: number): ChartConfiguration {
  const datasets: ChartDataset<'line', Point[]>[] = [];
  for (const s of series) {
    const colour = colours.get(s.model)!;
    const add = (label: string, pts: Point[], style: LineStyle, axis: string, base: number) =>
      datasets.push({
        label,
        data: pts,
        yAxisID: axis,
        borderColor: colour,
        backgroundColor: colour,
        borderWidth: style.borderWidth,
        borderDash: style.borderDash,
        pointStyle: style.pointStyle,
        pointRadius: radii(pts, base, 3.5),
        pointHoverRadius: 0,
        tension: 0,
      });
    add(`${s.model} train loss`, points(s.rows, (r) => r.train_loss), STYLE.train, 'y', 0);
    add(`${s.model} valid loss`, points(s.rows, (r) => r.valid_loss), STYLE.valid, 'y', 0);
    add(`${s.model} IoU`, points(s.rows, (r) => r.metric), STYLE.iou, 'y1', 1.8);
  }
  return {
    type: 'line',
    data: { datasets },
    options: {
      layout: { padding: { left: 2, right: 4, top: 0, bottom: 0 } },
      plugins: {
        legend: { display: false },
        title: { display: true, text: criterion, font: { size: 14, weight: 'bold' }, padding: { top: 6, bottom: 6 } },
      },
      scales: {
        x: epochAxis(maxEpoch, true),
        y: { type: 'linear', position: 'left', title: { display: true, text: 'loss' }, grace: '5%' },
        y1: {
          type: 'linear',
          position: 'right',
          min: 0,
          max: 1,
          title: { display: true, text: 'IoU' },
          ticks: { stepSize: 0.2 },
          grid: { drawOnChartArea: false },
        },
      },
    },
  };
}

/** Columns of the facet grid: 1, 2 up to 4 panels, 3 up to 9, 4 up to 12, then 5 (15 losses -> 5 x 3). */
function facetColumns(n: number): number {
  if (n <= 1) return 1;
  if (n <= 4) return 2;
  if (n <= 9) return 3;
  if (n <= 12) return 4;
  return 5;
}

function drawLineSample(ctx: CanvasRenderingContext2D, x: number, y: number, len: number, colour: string, style: LineStyle) {
  ctx.save();
  ctx.strokeStyle = colour;
  ctx.lineWidth = style.borderWidth;
  ctx.setLineDash(style.borderDash);
  ctx.beginPath();
  ctx.moveTo(x, y);
  ctx.lineTo(x + len, y);
  ctx.stroke();
  ctx.restore();
}

/** The Chart.js point styles used here, drawn the same way for the figure legend. */
function drawMarker(ctx: CanvasRenderingContext2D, x: number, y: number, style: LineStyle['pointStyle'], r: number, colour: string) {
  ctx.save();
  ctx.fillStyle = colour;
  ctx.beginPath();
  if (style === 'circle') ctx.arc(x, y, r, 0, 2 * Math.PI);
  else if (style === 'rect') ctx.rect(x - r * 0.85, y - r * 0.85, r * 1.7, r * 1.7);
  else {
    ctx.moveTo(x, y - r * 1.15);
    ctx.lineTo(x + r, y + r * 0.6);
    ctx.lineTo(x - r, y + r * 0.6);
    ctx.closePath();
  }
  ctx.fill();
  ctx.restore();
}

async function drawFacetCurves(rows: readonly ResultRow[], file: string, title: string): Promise<void> {
  const series = [...seriesByCombination(rows).values()];
  const colours = modelColours(rows);
  const losses = uniqueSorted(
    series.map((s) => s.criterion),
    LOSS_NAMES,
  );
  const maxEpoch = Math.max(...rows.map((r) => r.epoch));
  const cols = facetColumns(losses.length);
  const gridRows = Math.ceil(losses.length / cols);
  const gap = 10;
  const titleH = 34;
  const legendH = 30;
  const top = titleH + legendH + 6;
  const width = Math.max(cols * PANEL_W + (cols + 1) * gap, 760);
  const height = top + gridRows * PANEL_H + (gridRows + 1) * gap;

  const panels = await Promise.all(
    losses.map(async (criterion) => {
      const own = series
        .filter((s) => s.criterion === criterion)
        .sort((a, b) => compareNames(MODEL_NAMES, a.model, b.model));
      return loadImage(await render(PANEL_W, PANEL_H, panelConfig(criterion, own, colours, maxEpoch)));
    }),
  );

  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = TEXT;
  ctx.textBaseline = 'middle';
  ctx.font = `bold 18px ${FONT}`;
  ctx.fillText(`${title}: loss and validation IoU per epoch`, gap, titleH / 2 + 4);

  // Figure legend: model colours, then what each line style means.
  ctx.font = `13px ${FONT}`;
  let x = gap;
  const ly = titleH + legendH / 2;
  for (const [model, colour] of colours) {
    ctx.fillStyle = colour;
    ctx.fillRect(x, ly - 6, 12, 12);
    x += 17;
    ctx.fillStyle = TEXT;
    ctx.fillText(model, x, ly);
    x += ctx.measureText(model).width + 18;
  }
  x += 14;
  for (const [label, style] of [
    ['train loss (left axis)', STYLE.train],
    ['valid loss (left axis)', STYLE.valid],
    ['validation IoU (right axis)', STYLE.iou],
  ] as const) {
    drawLineSample(ctx, x, ly, 30, '#444444', style);
    for (const dx of style === STYLE.iou ? [5, 15, 25] : [15]) drawMarker(ctx, x + dx, ly, style.pointStyle, 3, '#444444');
    x += 36;
    ctx.fillStyle = TEXT;
    ctx.fillText(label, x, ly);
    x += ctx.measureText(label).width + 18;
  }

  panels.forEach((img, i) => {
    const c = i % cols;
    const r = Math.floor(i / cols);
    const px = gap + c * (PANEL_W + gap);
    const py = top + gap + r * (PANEL_H + gap);
    ctx.drawImage(img, px, py);
    ctx.strokeStyle = '#d0d0d0';
    ctx.lineWidth = 1;
    ctx.strokeRect(px - 0.5, py - 0.5, PANEL_W + 1, PANEL_H + 1);
  });
  await writeAtomic(file, canvas.toBuffer('image/png'));
}

// ---------------------------------------------------------------------------------------------------------
// curves_top.png

const TOP_W = 1100;
const TOP_H = 560;

async function drawTopCurves(rows: readonly ResultRow[], best: CombinationSummary[], file: string, n: number, title: string) {
  const series = seriesByCombination(rows);
  const chosen = best
    .filter((b) => Number.isFinite(b.bestMetric))
    .sort((a, b) => b.bestMetric - a.bestMetric)
    .slice(0, n);
  const maxEpoch = Math.max(...rows.map((r) => r.epoch));
  const datasets: ChartDataset<'line', Point[]>[] = chosen.map((b, i) => {
    const s = series.get(comboKey(b.model, b.criterion))!;
    const pts = points(s.rows, (r) => r.metric);
    const colour = PALETTE[i % PALETTE.length];
    // The best epoch gets a large ring (rings that coincide stay distinguishable); isolated values a dot.
    const isBest = pts.map((p) => p.x === b.bestEpoch);
    const rad = radii(pts, 0, 3).map((r, j) => (isBest[j] ? 5.5 : r));
    return {
      label: `#${i + 1}  ${b.model} + ${b.criterion}: best IoU ${fmt(b.bestMetric, 3)} (epoch ${b.bestEpoch})`,
      data: pts,
      borderColor: colour,
      backgroundColor: colour,
      borderWidth: 2.4,
      pointRadius: rad,
      clip: 8, // px beyond the chart area, so a ring at the last epoch or the axis top is not cut in half
      pointBorderWidth: isBest.map((best) => (best ? 2.5 : 1)),
      pointBackgroundColor: isBest.map((best) => (best ? '#ffffff' : colour)),
      pointHoverRadius: 0,
      tension: 0,
    };
  });
  const yAxis = zoomedAxis(
    datasets.flatMap((d) => d.data.map((p) => (p.y === null ? NaN : p.y))),
    0.02,
    0.02,
  );
  await writeAtomic(
    file,
    await render(TOP_W, TOP_H, {
      type: 'line',
      data: { datasets },
      options: {
        layout: { padding: 10 },
        plugins: {
          title: {
            display: true,
            text: `${title}: validation IoU of the ${chosen.length} best model + loss combinations (ring: best epoch)`,
            font: { size: 16, weight: 'bold' },
          },
          legend: { position: 'bottom', align: 'start', labels: { boxWidth: 28, boxHeight: 3, font: { size: 13 }, padding: 10 } },
        },
        scales: {
          x: epochAxis(maxEpoch, true),
          y: { type: 'linear', ...yAxis, title: { display: true, text: 'validation IoU' } },
        },
      },
    }),
  );
  return chosen;
}

// ---------------------------------------------------------------------------------------------------------
// metrics.png

async function drawMetricBars(best: CombinationSummary[], file: string, title: string): Promise<void> {
  const models = uniqueSorted(
    best.map((b) => b.model),
    MODEL_NAMES,
  );
  const losses = uniqueSorted(
    best.map((b) => b.criterion),
    LOSS_NAMES,
  );
  const colours = new Map(models.map((m, i) => [m, PALETTE[i % PALETTE.length]]));
  const lookup = new Map(best.map((b) => [comboKey(b.model, b.criterion), b.bestMetric]));
  // Group width ~ 26 px per bar + margins; at least 900 px.
  const width = Math.max(900, 160 + losses.length * (models.length * 20 + 26));
  const yAxis = zoomedAxis(
    best.map((b) => b.bestMetric),
    0.05,
    0.02,
  );
  await writeAtomic(
    file,
    await render(width, 560, {
      type: 'bar',
      data: {
        labels: losses,
        datasets: models.map((m) => ({
          label: m,
          data: losses.map((l) => finite(lookup.get(comboKey(m, l)) ?? NaN)),
          backgroundColor: colours.get(m),
          borderColor: colours.get(m),
          borderWidth: 0,
          maxBarThickness: 48,
          categoryPercentage: 0.8,
          barPercentage: 0.92,
        })),
      },
      options: {
        layout: { padding: 10 },
        plugins: {
          title: { display: true, text: `${title}: best validation IoU per model and loss`, font: { size: 16, weight: 'bold' } },
          legend: { position: 'top', labels: { font: { size: 13 } } },
        },
        scales: {
          x: { ticks: { maxRotation: 45, minRotation: 45, autoSkip: false, font: { size: 12 } }, title: { display: true, text: 'loss' } },
          y: { type: 'linear', ...yAxis, title: { display: true, text: 'best validation IoU' } },
        },
      },
    }),
  );
}

// ---------------------------------------------------------------------------------------------------------
// report.html

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function dataUri(png: Buffer): string {
  return `data:image/png;base64,${png.toString('base64')}`;
}

/** Click a header to sort by it (numbers by data-v, text otherwise); click again to reverse. Blanks sort last. */
export const SORT_SCRIPT = `
document.querySelectorAll('table.sortable').forEach(function (table) {
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, col) {
    th.addEventListener('click', function () {
      var body = table.tBodies[0];
      var cur = th.getAttribute('data-sort');
      var numeric = body.rows.length > 0 && body.rows[0].cells[col].hasAttribute('data-v');
      var desc = cur ? cur === 'asc' : numeric;   // first click: numbers high-first, text A-Z
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute('data-sort'); });
      th.setAttribute('data-sort', desc ? 'desc' : 'asc');
      var rows = Array.prototype.slice.call(body.rows);
      var key = function (tr) {
        var td = tr.cells[col], v = td.getAttribute('data-v');
        return v === null ? td.textContent : (v === '' ? NaN : Number(v));
      };
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (typeof x === 'number') {
          if (isNaN(x)) return isNaN(y) ? 0 : 1;   // blanks last in either direction
          if (isNaN(y)) return -1;
          return desc ? y - x : x - y;
        }
        return desc ? String(y).localeCompare(String(x)) : String(x).localeCompare(String(y));
      });
      rows.forEach(function (tr) { body.appendChild(tr); });
    });
  });
});`;

function reportHtml(args: {
  title: string;
  rows: readonly ResultRow[];
  best: CombinationSummary[];
  images: { caption: string; png: Buffer }[];
  grids: { caption: string; png: Buffer }[];
}): string {
  const { title, rows, best } = args;
  const byIoU = [...best].sort((a, b) => (Number.isFinite(b.bestMetric) ? b.bestMetric : -1) - (Number.isFinite(a.bestMetric) ? a.bestMetric : -1));
  const top = byIoU[0];
  const runs = new Set(rows.map((r) => r.run)).size;
  const numCell = (x: number, digits: number) => `<td class="num" data-v="${Number.isFinite(x) ? x : ''}">${fmt(x, digits)}</td>`;
  const body = byIoU
    .map(
      (b, i) =>
        `<tr${i === 0 && Number.isFinite(b.bestMetric) ? ' class="best"' : ''}><td>${escapeHtml(b.model)}</td><td>${escapeHtml(b.criterion)}</td>` +
        numCell(b.bestMetric, 4) +
        numCell(b.bestEpoch, 0) +
        numCell(b.finalTrainLoss, 4) +
        numCell(b.finalValidLoss, 4) +
        numCell(b.epochs, 0) +
        numCell(b.runs, 0) +
        `<td>${escapeHtml(b.run)}</td></tr>`,
    )
    .join('\n');
  const figures = (list: { caption: string; png: Buffer }[]) =>
    list
      .map((f) => `<figure><img src="${dataUri(f.png)}" alt="${escapeHtml(f.caption)}"><figcaption>${escapeHtml(f.caption)}</figcaption></figure>`)
      .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #222; max-width: 2100px; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; font-size: 14px; }
th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: left; }
th { cursor: pointer; background: #f3f3f3; position: sticky; top: 0; user-select: none; }
th[data-sort="asc"]::after { content: " \\25B2"; } th[data-sort="desc"]::after { content: " \\25BC"; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.best td { font-weight: bold; background: #eef6fb; }
figure { margin: 16px 0; } figcaption { color: #555; font-size: 13px; }
img { max-width: 100%; height: auto; border: 1px solid #e5e5e5; }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p>${rows.length} rows, ${best.length} model + loss combinations, ${runs} runs.${
    top && Number.isFinite(top.bestMetric)
      ? ` Best: <b>${escapeHtml(top.model)} + ${escapeHtml(top.criterion)}</b>, validation IoU ${fmt(top.bestMetric, 4)} at epoch ${top.bestEpoch}.`
      : ''
  }</p>
<h2>Best validation IoU per combination</h2>
<p>Latest run of each combination; click a column header to sort.</p>
<table class="sortable">
<thead><tr><th>model</th><th>loss</th><th data-sort="desc">best IoU</th><th>best epoch</th><th>final train loss</th><th>final valid loss</th><th>epochs</th><th>runs</th><th>run id</th></tr></thead>
<tbody>
${body}
</tbody>
</table>
<h2>Charts</h2>
${figures(args.images)}
${args.grids.length > 0 ? `<h2>Predictions of the best runs</h2>\n<p>Overlay: blue tint and contour = prediction (p &ge; 0.5), yellow contour = ground truth.</p>\n${figures(args.grids)}` : ''}
<script>${SORT_SCRIPT}</script>
</body>
</html>
`;
}

// ---------------------------------------------------------------------------------------------------------

async function writeAtomic(file: string, data: Buffer | string): Promise<void> {
  await fs.promises.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFileAtomic(file, data);
}

/**
 * Writes curves.png, curves_top.png, metrics.png and report.html (self-contained: images inlined as
 * data URIs, inline CSS and sort script) into outDir. Returns their paths.
 */
export async function drawCharts(rows: readonly ResultRow[], outDir: string, opts: DrawChartsOptions = {}): Promise<ChartFiles> {
  if (rows.length === 0) {
    throw new Error(
      `drawCharts(${outDir}): expected at least one results row; found none. ` +
        `Check that the results CSV has rows (readResults) before charting, e.g. that training wrote any epoch.`,
    );
  }
  const title = opts.title ?? 'melseg';
  const top = opts.top ?? 5;
  if (!Number.isInteger(top) || top < 1) throw new Error(`drawCharts: expected option top to be a positive integer; found ${top}.`);
  // Read the grids first: a wrong path fails before anything is written.
  const grids = Object.entries(opts.grids ?? {}).map(([key, file]) => {
    let png: Buffer;
    try {
      png = fs.readFileSync(file);
    } catch (e) {
      throw new Error(
        `drawCharts: grid ${file} for "${key}" cannot be read (${(e as NodeJS.ErrnoException).code ?? e}); expected a PNG written by predictionGrid. ` +
          `Fix the path or drop it from opts.grids.`,
      );
    }
    const [model, criterion] = key.split('|');
    return { caption: criterion === undefined ? key : `${model} + ${criterion}`, png };
  });

  const files: ChartFiles = {
    curves: path.join(outDir, 'curves.png'),
    curvesTop: path.join(outDir, 'curves_top.png'),
    metrics: path.join(outDir, 'metrics.png'),
    report: path.join(outDir, 'report.html'),
  };
  const best = bestPerCombination(rows);
  // Sequential: the three share one CPU-bound canvas pipeline; parallelism only interleaves it.
  await drawFacetCurves(rows, files.curves, title);
  const chosen = await drawTopCurves(rows, best, files.curvesTop, top, title);
  await drawMetricBars(best, files.metrics, title);
  const html = reportHtml({
    title,
    rows,
    best,
    images: [
      { caption: `Validation IoU per epoch of the ${chosen.length} best combinations (ring: best epoch).`, png: fs.readFileSync(files.curvesTop) },
      { caption: 'Best validation IoU per model and loss (y axis zoomed to the data).', png: fs.readFileSync(files.metrics) },
      {
        caption: 'Per loss: train loss (solid), valid loss (dashed) and validation IoU (thick, right axis) per epoch, one colour per model.',
        png: fs.readFileSync(files.curves),
      },
    ],
    grids,
  });
  await writeAtomic(files.report, html);
  return files;
}
