/** curves_top.png: validation IoU per epoch of the best few combinations, each best epoch ringed. */
import type { ChartDataset } from 'chart.js';
import { writeFileAtomic } from '../../util/atomic';
import type { ResultRow } from '../results/csv';
import { CombinationSummary, rankByBestIoU } from '../results/summary';
import { epochAxis, zoomedAxis } from './axes';
import { PALETTE, render } from './render';
import { Point, comboKey, fmt, lastEpoch, points, radii, seriesByCombination } from './series';

export const TOP_W = 1100;
export const TOP_H = 560;

/** The `n` combinations with the highest best IoU, best first (combinations without any IoU left out). */
export function topCombinations(best: readonly CombinationSummary[], n: number): CombinationSummary[] {
  return rankByBestIoU(best)
    .filter((b) => Number.isFinite(b.bestMetric))
    .slice(0, n);
}

export async function drawTopCurves(rows: readonly ResultRow[], best: readonly CombinationSummary[], file: string, n: number, title: string) {
  const series = seriesByCombination(rows);
  const chosen = topCombinations(best, n);
  const maxEpoch = lastEpoch(chosen.map((b) => series.get(comboKey(b.model, b.criterion))!));
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
  await writeFileAtomic(
    file,
    await render(TOP_W, TOP_H, {
      type: 'line',
      data: { datasets },
      options: {
        layout: { padding: 10 },
        plugins: {
          // Two lines: a sweep's title is long, and Chart.js squeezes a line that does not fit instead of wrapping it.
          title: {
            display: true,
            text: [title, `validation IoU of the ${chosen.length} best model + loss combinations (ring: best epoch)`],
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
