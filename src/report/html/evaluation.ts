/**
 * A run card's held-out figures in report.html: the evaluation summary `melseg evaluate` (or train
 * --evaluate) wrote beside the run's checkpoint, as a small table (all images, per label, reweighted)
 * and a thumbnail of its failure gallery linking to the full PNG.
 */
import { fmt } from '../charts/series';

/** An evaluation's figures over a set of images (src/infer/summary.ts computes them). */
export interface IouFigures {
  /** Images scored. */
  n: number;
  mean: number;
  median: number;
  /** Mean IoU with an IoU below 0.65 counted as 0 (ISIC 2018). */
  thresholdedJaccard: number;
  /** Fraction of images (of weight, when reweighted) with IoU below 0.3 and below 0.65. */
  below03: number;
  below065: number;
}

export interface EvaluationView {
  /** Which split was scored and the settings, in words. */
  title: string;
  rows: { label: string; figures: IouFigures }[];
  /** The gallery's thumbnail (relative URL and size) and full PNG (relative URL). */
  gallery?: { src: string; width: number; height: number; full: string };
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '-');

export function evaluationHtml(v: EvaluationView): string {
  const rows = v.rows
    .map(
      ({ label, figures: f }) =>
        `<tr><td>${esc(label)}</td><td class="num">${f.n}</td><td class="num">${fmt(f.mean, 3)}</td><td class="num">${fmt(f.median, 3)}</td><td class="num">${fmt(f.thresholdedJaccard, 3)}</td><td class="num">${pct(f.below03)}</td><td class="num">${pct(f.below065)}</td></tr>`,
    )
    .join('');
  const gallery = v.gallery
    ? `<a class="thumb" href="${esc(v.gallery.full)}" title="open the failure gallery"><img src="${esc(v.gallery.src)}" width="${v.gallery.width}" height="${v.gallery.height}" loading="lazy" alt="the worst images of ${esc(v.title)}"></a><p class="muted">The worst images: image | probability | truth | final mask.</p>`
    : '';
  return `<details class="evaluation" open><summary>${esc(v.title)}</summary>
<table class="settings"><tr><th></th><th>n</th><th>mean IoU</th><th>median</th><th>thr. Jaccard</th><th>IoU&lt;0.3</th><th>IoU&lt;0.65</th></tr>${rows}</table>
${gallery}</details>`;
}
