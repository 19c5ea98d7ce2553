/**
 * curves.png: a facet grid with one panel per loss; in each, train loss, valid loss (left axis) and
 * validation IoU (right axis) per epoch, one colour per model. A figure title and a figure legend
 * (models, then line styles) sit above the panels and wrap onto more lines when the figure is narrow.
 */
import { createCanvas, loadImage } from 'canvas';
import type { CanvasRenderingContext2D } from 'canvas';
import type { ChartConfiguration, ChartDataset } from 'chart.js';
import { writeFileAtomic } from '../../util/atomic';
import { MODEL_NAMES, compareNames } from '../names';
import type { ResultRow } from '../results/csv';
import { epochAxis } from './axes';
import { FONT, TEXT, render } from './render';
import { Point, Series, lastEpoch, lossesOf, modelColours, points, radii, seriesByCombination } from './series';

export const PANEL_W = 420;
export const PANEL_H = 290;
const GAP = 10;
const MIN_WIDTH = 760;
const TITLE_PX = 18;
const TITLE_LINE = 24;
const LEGEND_PX = 13;
const LEGEND_LINE = 22;

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

/** Greedy word wrap of `text` into lines no wider than maxWidth at the context's font. */
function wrapWords(ctx: CanvasRenderingContext2D, text: string, maxWidth: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const next = line ? `${line} ${word}` : word;
    if (line && ctx.measureText(next).width > maxWidth) {
      lines.push(line);
      line = word;
    } else {
      line = next;
    }
  }
  if (line) lines.push(line);
  return lines;
}

interface LegendItem {
  width: number;
  draw(ctx: CanvasRenderingContext2D, x: number, y: number): void;
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

/** Figure legend entries: each model's colour, then what each line style means. */
function legendItems(ctx: CanvasRenderingContext2D, colours: Map<string, string>): LegendItem[] {
  ctx.font = `${LEGEND_PX}px ${FONT}`;
  const items: LegendItem[] = [];
  for (const [model, colour] of colours) {
    items.push({
      width: 17 + ctx.measureText(model).width,
      draw: (c, x, y) => {
        c.fillStyle = colour;
        c.fillRect(x, y - 6, 12, 12);
        c.fillStyle = TEXT;
        c.fillText(model, x + 17, y);
      },
    });
  }
  for (const [label, style] of [
    ['train loss (left axis)', STYLE.train],
    ['valid loss (left axis)', STYLE.valid],
    ['validation IoU (right axis)', STYLE.iou],
  ] as const) {
    items.push({
      width: 36 + ctx.measureText(label).width,
      draw: (c, x, y) => {
        drawLineSample(c, x, y, 30, '#444444', style);
        for (const dx of style === STYLE.iou ? [5, 15, 25] : [15]) drawMarker(c, x + dx, y, style.pointStyle, 3, '#444444');
        c.fillStyle = TEXT;
        c.fillText(label, x + 36, y);
      },
    });
  }
  return items;
}

/** Items placed left to right, wrapping to a new line when the next would cross maxWidth. */
function flow(items: LegendItem[], maxWidth: number, spacing: number): { item: LegendItem; x: number; line: number }[] {
  const placed: { item: LegendItem; x: number; line: number }[] = [];
  let x = 0;
  let line = 0;
  for (const item of items) {
    if (x > 0 && x + item.width > maxWidth) {
      x = 0;
      line++;
    }
    placed.push({ item, x, line });
    x += item.width + spacing;
  }
  return placed;
}

export async function drawCurves(rows: readonly ResultRow[], file: string, title: string): Promise<void> {
  const series = [...seriesByCombination(rows).values()];
  const colours = modelColours(rows);
  const losses = lossesOf(series);
  const maxEpoch = lastEpoch(series);
  const cols = facetColumns(losses.length);
  const gridRows = Math.ceil(losses.length / cols);
  const panelsW = cols * PANEL_W + (cols - 1) * GAP;
  const width = Math.max(panelsW + 2 * GAP, MIN_WIDTH);
  const textW = width - 2 * GAP;

  // Measure first: the title and legend decide how far down the panels start.
  const measure = createCanvas(1, 1).getContext('2d');
  measure.font = `bold ${TITLE_PX}px ${FONT}`;
  const titleLines = wrapWords(measure, `${title}: loss and validation IoU per epoch`, textW);
  const legend = flow(legendItems(measure, colours), textW, 18);
  const legendLines = legend.length ? legend[legend.length - 1].line + 1 : 0;
  const top = GAP + titleLines.length * TITLE_LINE + 4 + legendLines * LEGEND_LINE + 4;
  const height = top + gridRows * PANEL_H + gridRows * GAP;

  const panels = await Promise.all(
    losses.map(async (criterion) => {
      const own = series.filter((s) => s.criterion === criterion).sort((a, b) => compareNames(MODEL_NAMES, a.model, b.model));
      return loadImage(await render(PANEL_W, PANEL_H, panelConfig(criterion, own, colours, maxEpoch)));
    }),
  );

  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = TEXT;
  ctx.textBaseline = 'middle';
  ctx.font = `bold ${TITLE_PX}px ${FONT}`;
  titleLines.forEach((line, i) => ctx.fillText(line, GAP, GAP + (i + 0.5) * TITLE_LINE));
  ctx.font = `${LEGEND_PX}px ${FONT}`;
  const legendTop = GAP + titleLines.length * TITLE_LINE + 4;
  for (const { item, x, line } of legend) item.draw(ctx, GAP + x, legendTop + (line + 0.5) * LEGEND_LINE);

  // Panels centred when the title or legend made the figure wider than the grid.
  const left = Math.round((width - panelsW) / 2);
  panels.forEach((img, i) => {
    const px = left + (i % cols) * (PANEL_W + GAP);
    const py = top + Math.floor(i / cols) * (PANEL_H + GAP);
    ctx.drawImage(img, px, py);
    ctx.strokeStyle = '#d0d0d0';
    ctx.lineWidth = 1;
    ctx.strokeRect(px - 0.5, py - 0.5, PANEL_W + 1, PANEL_H + 1);
  });
  await writeFileAtomic(file, canvas.toBuffer('image/png'));
}
