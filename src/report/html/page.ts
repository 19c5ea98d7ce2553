/**
 * report.html: one page with the interactive charts (Chart.js inlined, so it works offline), a sortable
 * table of the best IoU per combination, and a card per run with its settings and a thumbnail that
 * links to the full prediction grid. Images are linked by relative path, never embedded, so the page
 * stays small however many runs a sweep has.
 */
import { zoomedAxis } from '../charts/axes';
import { PALETTE } from '../charts/render';
import { fmt, lastEpoch, lossesOf, modelColours, modelsOf, seriesByCombination } from '../charts/series';
import type { ResultRow } from '../results/csv';
import { CombinationSummary, rankByBestIoU } from '../results/summary';
import { chartJsSource } from './chartjs';
import { CHARTS_SCRIPT, SORT_SCRIPT } from './page-script';
import { evaluationHtml, type EvaluationView } from './evaluation';
import type { RunSettingsView } from './run-settings';

/** What the page shows of one run (the best run of a combination). */
export interface RunCard {
  summary: CombinationSummary;
  /** URL of the thumbnail relative to the page, and its size. */
  thumb?: { src: string; width: number; height: number };
  /** URL of the full prediction grid relative to the page. */
  grid?: string;
  /** From run.json; null when the run has none. */
  settings: RunSettingsView | null;
  /** The held-out evaluation beside the run's checkpoint, if any. */
  evaluation?: EvaluationView;
}

export interface PageInput {
  title: string;
  rows: readonly ResultRow[];
  best: readonly CombinationSummary[];
  /** The combinations of curves_top.png, best first. */
  top: readonly CombinationSummary[];
  cards: readonly RunCard[];
  /** URLs of the PNG charts relative to the page. */
  pngs: { curves: string; curvesTop: string; metrics: string };
}

/** A zoomed IoU axis (see zoomedAxis): its ends and tick step. */
type Axis = { min: number; max: number; step: number };

/** The JSON the page script reads (see CHARTS_SCRIPT). NaN becomes null: JSON has no NaN. */
interface PageData {
  models: string[];
  losses: string[];
  colours: Record<string, string>;
  palette: readonly string[];
  maxEpoch: number;
  series: { model: string; criterion: string; epoch: number[]; train: (number | null)[]; valid: (number | null)[]; iou: (number | null)[] }[];
  best: { model: string; criterion: string; bestMetric: number | null; bestEpoch: number | null }[];
  bestAxis: Axis;
  topKeys: string[];
  topAxis: Axis;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const orNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

function pageData(input: PageInput): PageData {
  const series = [...seriesByCombination(input.rows).values()];
  const axis = (values: number[], below: number, above: number): Axis => {
    const { min, max, ticks } = zoomedAxis(values, below, above);
    return { min, max, step: ticks.stepSize };
  };
  return {
    models: modelsOf(input.best),
    losses: lossesOf(input.best),
    colours: Object.fromEntries(modelColours(input.best)),
    palette: PALETTE,
    maxEpoch: lastEpoch(series),
    series: series.map((s) => ({
      model: s.model,
      criterion: s.criterion,
      epoch: s.rows.map((r) => r.epoch),
      train: s.rows.map((r) => orNull(r.train_loss)),
      valid: s.rows.map((r) => orNull(r.valid_loss)),
      iou: s.rows.map((r) => orNull(r.metric)),
    })),
    best: input.best.map((b) => ({ model: b.model, criterion: b.criterion, bestMetric: orNull(b.bestMetric), bestEpoch: orNull(b.bestEpoch) })),
    bestAxis: axis(
      input.best.map((b) => b.bestMetric),
      0.05,
      0.02,
    ),
    topKeys: input.top.map((b) => `${b.model}|${b.criterion}`),
    topAxis: axis(
      series.filter((s) => input.top.some((b) => b.model === s.model && b.criterion === s.criterion)).flatMap((s) => s.rows.map((r) => r.metric)),
      0.02,
      0.02,
    ),
  };
}

/** JSON inside a <script> element: "<" escaped, so no string in it can close the element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

function table(best: readonly CombinationSummary[]): string {
  const numCell = (x: number, digits: number) => `<td class="num" data-v="${Number.isFinite(x) ? x : ''}">${fmt(x, digits)}</td>`;
  const body = rankByBestIoU(best)
    .map(
      (b, i) =>
        `<tr${i === 0 && Number.isFinite(b.bestMetric) ? ' class="best"' : ''}><td>${escapeHtml(b.model)}</td><td>${escapeHtml(b.criterion)}</td>` +
        numCell(b.bestMetric, 4) +
        numCell(b.bestEpoch, 0) +
        numCell(b.finalTrainLoss, 4) +
        numCell(b.finalValidLoss, 4) +
        numCell(b.epochs, 0) +
        numCell(b.runs, 0) +
        `<td><a href="#${runAnchor(b)}">${escapeHtml(b.run || '(none)')}</a></td></tr>`,
    )
    .join('\n');
  return `<table class="sortable" id="best-table">
<thead><tr><th>model</th><th>loss</th><th data-sort="desc">best IoU</th><th>best epoch</th><th>final train loss</th><th>final valid loss</th><th>epochs</th><th>runs</th><th>run id</th></tr></thead>
<tbody>
${body}
</tbody>
</table>`;
}

function runAnchor(b: CombinationSummary): string {
  return 'run-' + encodeURIComponent(`${b.model}|${b.criterion}`).replace(/%/g, '_');
}

/** Settings every run with a run.json shares (same value), when at least two runs have one. */
function sharedSettings(cards: readonly RunCard[]): Map<string, string> {
  const all = cards.flatMap((c) => (c.settings && 'settings' in c.settings ? [c.settings.settings] : []));
  const shared = new Map<string, string>();
  if (all.length < 2) return shared;
  for (const [k, v] of Object.entries(all[0])) if (all.every((s) => s[k] === v)) shared.set(k, v);
  return shared;
}

function settingsTable(entries: [string, string][], cls: string): string {
  const rows = entries.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('');
  return `<table class="${cls}">${rows}</table>`;
}

function card(c: RunCard, shared: Map<string, string>): string {
  const b = c.summary;
  const name = `${b.model} + ${b.criterion}`;
  const picture = c.thumb
    ? `<a class="thumb" href="${escapeHtml(c.grid ?? c.thumb.src)}" title="open the full prediction grid"><img src="${escapeHtml(c.thumb.src)}" width="${c.thumb.width}" height="${c.thumb.height}" loading="lazy" alt="prediction grid of ${escapeHtml(name)}"></a>`
    : `<p class="muted">No prediction grid found for this run.</p>`;
  let settings: string;
  if (c.settings === null) settings = `<p class="muted">Settings not recorded (no run.json).</p>`;
  else if ('problem' in c.settings) settings = `<p class="problem">Settings unavailable: ${escapeHtml(c.settings.problem)}.</p>`;
  else {
    const entries = Object.entries(c.settings.settings);
    const own = entries.filter(([k]) => !shared.has(k));
    settings =
      (own.length ? settingsTable(own, 'settings') : shared.size ? `<p class="muted">Only the shared settings.</p>` : '') +
      (shared.size ? `<details><summary>all ${entries.length} settings</summary>${settingsTable(entries, 'settings')}</details>` : '');
  }
  return `<article class="run" id="${runAnchor(b)}">
${picture}
<h3>${escapeHtml(name)}</h3>
<p>best IoU <b>${fmt(b.bestMetric, 4)}</b>${Number.isFinite(b.bestEpoch) ? ` at epoch ${b.bestEpoch}` : ''} of ${b.epochs}; run <code>${escapeHtml(b.run || '(none)')}</code></p>
${c.evaluation ? evaluationHtml(c.evaluation) : ''}
${settings}
</article>`;
}

const STYLE = `
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #222; max-width: 1800px; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 2em; } h3 { font-size: 1em; margin: 0.5em 0 0.2em; }
nav a, .pngs a { margin-right: 0.8em; }
.hint, .muted, .pngs { color: #555; font-size: 14px; }
.problem { color: #a00; font-size: 14px; }
.chart-box { position: relative; height: 420px; }
.facets { display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap: 12px; }
.facet-box { position: relative; height: 280px; border: 1px solid #e3e3e3; }
.controls { margin: 8px 0 12px; font-size: 14px; } .controls label { margin-right: 1em; white-space: nowrap; }
.swatch { display: inline-block; width: 11px; height: 11px; margin: 0 3px 0 2px; vertical-align: -1px; }
table { border-collapse: collapse; font-size: 14px; }
th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: left; }
table.sortable th { cursor: pointer; background: #f3f3f3; position: sticky; top: 0; user-select: none; }
th[data-sort="asc"]::after { content: " \\25B2"; } th[data-sort="desc"]::after { content: " \\25BC"; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.best td { font-weight: bold; background: #eef6fb; }
.runs { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 16px; }
.run { border: 1px solid #e3e3e3; padding: 10px; min-width: 0; }
.run td, .run code { overflow-wrap: anywhere; } .run th { white-space: nowrap; }
.run p { margin: 0.3em 0; font-size: 14px; }
.run img { display: block; max-width: 100%; height: auto; border: 1px solid #e5e5e5; }
table.settings { font-size: 13px; margin-top: 4px; } table.settings th { background: none; font-weight: normal; color: #555; }
details { font-size: 13px; margin-top: 4px; }
.evaluation table th, .evaluation table td { padding: 2px 4px; font-size: 12px; } .evaluation summary { font-weight: bold; }
.shared { font-size: 14px; } .shared span { margin-right: 1.2em; white-space: nowrap; }
`;

export function reportHtml(input: PageInput): string {
  const { title, rows, best, cards } = input;
  const e = escapeHtml;
  const top = rankByBestIoU(best).find((b) => Number.isFinite(b.bestMetric));
  const runs = new Set(rows.map((r) => r.run)).size;
  const data = pageData(input);
  const shared = sharedSettings(cards);
  const checkbox = (group: string, value: string, label: string, colour?: string) =>
    `<label><input type="checkbox" data-toggle="${group}" value="${e(value)}" checked>${colour ? `<span class="swatch" style="background:${colour}"></span>` : ''}${e(label)}</label>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${e(title)}</h1>
<p>${rows.length} rows, ${best.length} model + loss combinations, ${runs} runs.${
    top ? ` Best: <b>${e(top.model)} + ${e(top.criterion)}</b>, validation IoU ${fmt(top.bestMetric, 4)} at epoch ${top.bestEpoch}.` : ''
  }</p>
<nav><a href="#best">best IoU</a><a href="#top">top ${input.top.length}</a><a href="#curves">curves per loss</a><a href="#table">table</a><a href="#runs">runs</a></nav>
<p class="pngs">The same charts as images: <a href="${e(input.pngs.metrics)}">metrics.png</a><a href="${e(input.pngs.curvesTop)}">curves_top.png</a><a href="${e(input.pngs.curves)}">curves.png</a></p>

<h2 id="best">Best validation IoU per model and loss</h2>
<p class="hint">Latest run of each combination; the y axis is zoomed to the data. Hover a bar for its value; click a model in the legend to hide or show it.</p>
<div class="chart-box"><canvas id="chart-best" role="img" aria-label="bar chart of the best validation IoU per model and loss"></canvas></div>

<h2 id="top">Validation IoU per epoch of the ${input.top.length} best combinations</h2>
<p class="hint">Big dot: best epoch. Click an entry of the legend to hide or show it.</p>
<div class="chart-box"><canvas id="chart-top" role="img" aria-label="validation IoU per epoch of the best combinations"></canvas></div>

<h2 id="curves">Loss and validation IoU per epoch, per loss</h2>
<p class="hint">Train loss (thin) and valid loss (dashed) on the left axis, validation IoU (thick) on the right; one colour per model. Hover for the values of an epoch; the boxes show or hide a model or a quantity in every panel.</p>
<div class="controls">models: ${data.models.map((m) => checkbox('model', m, m, data.colours[m])).join('')}
quantities: ${checkbox('quantity', 'train', 'train loss (thin)')}${checkbox('quantity', 'valid', 'valid loss (dashed)')}${checkbox('quantity', 'iou', 'validation IoU (thick)')}</div>
<div class="facets">
${data.losses.map((l) => `<div class="facet-box chart-box"><canvas class="facet" data-loss="${e(l)}" role="img" aria-label="curves of ${e(l)}"></canvas></div>`).join('\n')}
</div>

<h2 id="table">Best validation IoU per combination</h2>
<p class="hint">Latest run of each combination; click a column header to sort.</p>
${table(best)}

<h2 id="runs">Runs</h2>
<p class="hint">Best first. Click a thumbnail for the full prediction grid (image, prediction, ground truth, overlay: blue tint and contour = prediction at p &ge; 0.5, yellow contour = ground truth).</p>
${shared.size ? `<p class="shared">Settings shared by every run: ${[...shared].map(([k, v]) => `<span>${e(k)} <b>${e(v)}</b></span>`).join(' ')}</p>` : ''}
<div class="runs">
${cards.map((c) => card(c, shared)).join('\n')}
</div>

<script type="application/json" id="melseg-data">${scriptJson(data)}</script>
<script>${chartJsSource()}</script>
<script>${SORT_SCRIPT}
${CHARTS_SCRIPT}</script>
</body>
</html>
`;
}
