/**
 * runs.png: validation IoU per epoch of every run, one colour per results file (a trainer, a recipe,
 * an ablation...), one line per run (its seeds), so that two groups of runs can be compared by eye with
 * their seed-to-seed spread: e.g. melseg's and PyTorch's curves for the same recipe and three seeds.
 */
import type { ChartDataset } from 'chart.js';
import { writeFileAtomic } from '../../util/atomic';
import type { ResultRow } from '../results/csv';
import { epochAxis, maxOf, zoomedAxis } from './axes';
import { PALETTE, render } from './render';
import { Point, fmt, points } from './series';

export interface RunGroup {
  label: string;
  rows: readonly ResultRow[];
}

export const RUNS_W = 1100;
export const RUNS_H = 600;

const DASHES = [[], [8, 4], [2, 3], [12, 3, 2, 3], [4, 4]];

export async function drawRunCurves(groups: readonly RunGroup[], file: string, title: string): Promise<void> {
  const datasets: ChartDataset<'line', Point[]>[] = [];
  groups.forEach((g, gi) => {
    const colour = PALETTE[gi % PALETTE.length];
    const runs = [...new Set(g.rows.map((r) => r.run))];
    runs.forEach((run, ri) => {
      const rows = g.rows.filter((r) => r.run === run).sort((a, b) => a.epoch - b.epoch);
      const best = maxOf(rows.map((r) => (Number.isFinite(r.metric) ? r.metric : -Infinity)));
      datasets.push({
        label: `${g.label}: ${run} (best ${fmt(best, 3)})`,
        data: points(rows, (r) => r.metric),
        borderColor: colour,
        backgroundColor: colour,
        borderWidth: 2,
        borderDash: DASHES[ri % DASHES.length],
        pointRadius: 0,
        tension: 0,
      });
    });
  });
  const all = groups.flatMap((g) => g.rows);
  const maxEpoch = maxOf(all.map((r) => r.epoch));
  await writeFileAtomic(
    file,
    await render(RUNS_W, RUNS_H, {
      type: 'line',
      data: { datasets },
      options: {
        layout: { padding: 10 },
        plugins: {
          title: { display: true, text: [title, 'validation IoU per epoch; one colour per results file, one line per run'], font: { size: 15 } },
          legend: { position: 'bottom', labels: { boxWidth: 26, font: { size: 11 } } },
        },
        scales: {
          x: epochAxis(maxEpoch, true),
          y: { ...zoomedAxis(all.map((r) => r.metric), 0.02, 0.02), title: { display: true, text: 'validation IoU' } },
        },
      },
    }),
  );
}
