/**
 * metrics.png: best validation IoU per model (bar colour) and loss (group), every bar labelled with its
 * value. The y axis is zoomed to the data (see zoomedAxis), so bars are told apart; a bar whose value
 * is at the axis floor (e.g. an IoU of 0) still shows as a short stub with its label, and a
 * combination with no IoU at all is marked "n/a".
 */
import type { Chart, Plugin } from 'chart.js';
import { writeFileAtomic } from '../../util/atomic';
import type { CombinationSummary } from '../results/summary';
import { zoomedAxis } from './axes';
import { FONT, PALETTE, TEXT, render } from './render';
import { comboKey, finite, lossesOf, modelsOf } from './series';

export const METRICS_H = 560;
/** Bars never shorter than this many px (a zero would otherwise be drawn as nothing). */
export const MIN_BAR_PX = 5;
const LABEL_PX = 11;

/** Chart width: ~20 px per bar and 26 px between groups, plus axes; at least 900 px. */
export function metricsWidth(models: number, losses: number): number {
  return Math.max(900, 160 + losses * (models * 20 + 26));
}

/** WCAG relative luminance of #rrggbb. */
function luminance(hex: string): number {
  const lin = (i: number) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(1) + 0.7152 * lin(3) + 0.0722 * lin(5);
}

/**
 * White or dark text on `hex`, whichever contrasts more: white wins below a luminance of 0.179, where
 * (1 + 0.05) / (L + 0.05) = (L + 0.05) / 0.05.
 */
export function textOn(hex: string): string {
  return luminance(hex) < 0.179 ? '#ffffff' : TEXT;
}

/**
 * Draws each bar's value: rotated upright when the bar is narrower than the text, inside the bar's top
 * (in a contrasting colour) when the bar is tall enough, else just above it. `missing` holds the
 * "datasetIndex:index" of combinations that exist but have no IoU; they get "n/a" at the axis floor.
 */
function barValues(missing: Set<string>): Plugin<'bar'> {
  return {
    id: 'melsegBarValues',
    afterDatasetsDraw(chart: Chart<'bar'>) {
      const ctx = chart.ctx;
      ctx.save();
      ctx.font = `${LABEL_PX}px ${FONT}`;
      ctx.textBaseline = 'middle';
      chart.data.datasets.forEach((ds, di) => {
        const meta = chart.getDatasetMeta(di);
        meta.data.forEach((el, i) => {
          const { x, y, base, width } = el.getProps(['x', 'y', 'base', 'width'], true) as { x: number; y: number; base: number; width: number };
          const v = ds.data[i] as number | null;
          const text = v === null ? (missing.has(`${di}:${i}`) ? 'n/a' : '') : v.toFixed(3);
          if (!text) return;
          const textW = ctx.measureText(text).width;
          const upright = width < textW + 2;
          const along = upright ? textW : LABEL_PX; // text extent along the bar
          const top = v === null ? base : Math.min(y, base - MIN_BAR_PX);
          const inside = v !== null && base - top >= along + 8;
          ctx.fillStyle = inside ? textOn(String(ds.backgroundColor)) : TEXT;
          const cy = inside ? top + 4 + along / 2 : top - 3 - along / 2;
          ctx.save();
          ctx.translate(x, cy);
          if (upright) ctx.rotate(-Math.PI / 2);
          ctx.textAlign = 'center';
          ctx.fillText(text, 0, 0);
          ctx.restore();
        });
      });
      ctx.restore();
    },
  };
}

export async function drawMetricBars(best: readonly CombinationSummary[], file: string, title: string): Promise<void> {
  const models = modelsOf(best);
  const losses = lossesOf(best);
  const colours = new Map(models.map((m, i) => [m, PALETTE[i % PALETTE.length]]));
  const lookup = new Map(best.map((b) => [comboKey(b.model, b.criterion), b.bestMetric]));
  const missing = new Set<string>();
  models.forEach((m, di) =>
    losses.forEach((l, i) => {
      const v = lookup.get(comboKey(m, l));
      if (v !== undefined && !Number.isFinite(v)) missing.add(`${di}:${i}`);
    }),
  );
  const yAxis = zoomedAxis(
    best.map((b) => b.bestMetric),
    0.05,
    0.02,
  );
  await writeFileAtomic(
    file,
    await render(metricsWidth(models.length, losses.length), METRICS_H, {
      type: 'bar',
      data: {
        labels: losses,
        datasets: models.map((m) => ({
          label: m,
          data: losses.map((l) => finite(lookup.get(comboKey(m, l)) ?? NaN)),
          backgroundColor: colours.get(m),
          borderColor: colours.get(m),
          borderWidth: 0,
          minBarLength: MIN_BAR_PX,
          maxBarThickness: 48,
          categoryPercentage: 0.8,
          barPercentage: 0.92,
        })),
      },
      plugins: [barValues(missing)],
      options: {
        layout: { padding: { left: 10, right: 10, bottom: 10, top: 4 } },
        plugins: {
          title: { display: true, text: [title, 'best validation IoU per model and loss'], font: { size: 16, weight: 'bold' } },
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
