/**
 * The report of a sweep, from results rows: curves.png, curves_top.png, metrics.png and report.html,
 * plus `report_files/` (thumbnails of the prediction grids) beside them.
 */
import * as fs from 'fs';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { drawCurves, drawMetricBars, drawTopCurves } from './charts';
import { EvaluationView, RunCard, RunSettingsView, makeThumbnail, reportHtml } from './html';
import { writeFileAtomic } from '../util/atomic';
import type { ResultRow } from './results/csv';
import { bestPerCombination, rankByBestIoU } from './results/summary';

export interface DrawChartsOptions {
  /** "model|criterion" -> PNG of its prediction grid (see predictionGrid), linked from report.html. */
  grids?: Record<string, string>;
  /** Run id -> its settings (readRunSettings of `<artifacts>/<run>`), shown per run in report.html. */
  settings?: Record<string, RunSettingsView | null>;
  /** Run id -> its held-out evaluation (figures and the gallery PNG's path), shown on its card. */
  evaluations?: Record<string, EvaluationInput>;
  /** Page and figure title. */
  title?: string;
  /** How many combinations curves_top.png shows. Default 5. */
  top?: number;
}

/** An evaluation as the caller found it: the gallery as a file path (drawCharts makes its thumbnail). */
export type EvaluationInput = Omit<EvaluationView, 'gallery'> & { gallery?: string };

export interface ChartFiles {
  curves: string;
  curvesTop: string;
  metrics: string;
  report: string;
}

/** Folder beside report.html holding its thumbnails. */
export const REPORT_FILES = 'report_files';

/** URL of `target` relative to a page in `fromDir` (a file: URL when no relative path exists, e.g. another drive). */
function relativeUrl(fromDir: string, target: string): string {
  const rel = path.relative(path.resolve(fromDir), path.resolve(target));
  if (path.isAbsolute(rel)) return pathToFileURL(path.resolve(target)).href;
  return rel.split(path.sep).map(encodeURIComponent).join('/');
}

/** A file name for a run's thumbnail: the run id with anything but letters, digits, '.', '_' and '-' replaced. */
function thumbName(id: string, taken: Set<string>): string {
  const base = id.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_') || 'run';
  let name = `${base}.thumb.jpg`;
  for (let k = 2; taken.has(name); k++) name = `${base}-${k}.thumb.jpg`;
  taken.add(name);
  return name;
}

/** The arguments of drawCharts checked before anything is written: rows to draw, --top, readable grids. */
function checkChartInputs(rows: readonly ResultRow[], outDir: string, opts: DrawChartsOptions): number {
  if (rows.length === 0) {
    throw new Error(
      `charts for ${outDir}: expected at least one results row; found none. ` +
        `Check that the results CSV has rows, e.g. that training finished an epoch.`,
    );
  }
  const top = opts.top ?? 5;
  if (!Number.isInteger(top) || top < 1) throw new Error(`--top: expected a positive whole number of combinations; found ${top}.`);
  for (const [key, file] of Object.entries(opts.grids ?? {})) {
    try {
      fs.accessSync(file, fs.constants.R_OK);
    } catch (e) {
      throw new Error(
        `prediction grid ${file} of ${key.replace('|', ' + ')} cannot be read (${(e as NodeJS.ErrnoException).code ?? e}); ` +
          `expected a PNG written by training. Check the artifacts folder (--artifacts DIR).`,
      );
    }
  }
  return top;
}

/** The report's card of one combination: its settings, and thumbnails of its grid and failure gallery (written). */
async function runCard(b: RunCard['summary'], outDir: string, opts: DrawChartsOptions, taken: Set<string>): Promise<RunCard> {
  const grid = opts.grids?.[`${b.model}|${b.criterion}`];
  const card: RunCard = { summary: b, settings: (b.run && opts.settings?.[b.run]) || null };
  if (grid) {
    const name = thumbName(b.run || `${b.model}_${b.criterion}`, taken);
    const size = await makeThumbnail(grid, path.join(outDir, REPORT_FILES, name));
    card.thumb = { src: `${REPORT_FILES}/${encodeURIComponent(name)}`, ...size };
    card.grid = relativeUrl(outDir, grid);
  }
  const ev = b.run ? opts.evaluations?.[b.run] : undefined;
  if (ev) {
    const { gallery, ...figures } = ev;
    card.evaluation = figures;
    if (gallery) {
      const name = thumbName(`${b.run}_worst`, taken);
      const size = await makeThumbnail(gallery, path.join(outDir, REPORT_FILES, name));
      card.evaluation.gallery = { src: `${REPORT_FILES}/${encodeURIComponent(name)}`, ...size, full: relativeUrl(outDir, gallery) };
    }
  }
  return card;
}

/**
 * Writes the three PNG charts, the thumbnails and report.html into outDir (see the file comment);
 * returns the paths. Grids are checked before anything is written.
 */
export async function drawCharts(rows: readonly ResultRow[], outDir: string, opts: DrawChartsOptions = {}): Promise<ChartFiles> {
  const top = checkChartInputs(rows, outDir, opts);
  const title = opts.title ?? 'melseg';
  const files: ChartFiles = {
    curves: path.join(outDir, 'curves.png'),
    curvesTop: path.join(outDir, 'curves_top.png'),
    metrics: path.join(outDir, 'metrics.png'),
    report: path.join(outDir, 'report.html'),
  };
  const best = bestPerCombination(rows);
  // Sequential: the three share one CPU-bound canvas pipeline; parallelism only interleaves it.
  await drawCurves(rows, files.curves, title);
  const chosen = await drawTopCurves(rows, best, files.curvesTop, top, title);
  await drawMetricBars(best, files.metrics, title);

  const taken = new Set<string>();
  const cards: RunCard[] = [];
  for (const b of rankByBestIoU(best)) cards.push(await runCard(b, outDir, opts, taken));
  const rel = (f: string) => relativeUrl(outDir, f);
  await writeFileAtomic(
    files.report,
    reportHtml({ title, rows, best, top: chosen, cards, pngs: { curves: rel(files.curves), curvesTop: rel(files.curvesTop), metrics: rel(files.metrics) } }),
  );
  return files;
}
