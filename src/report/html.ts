/** report.html: the page, its scripts, the inlined Chart.js, run settings and grid thumbnails. (Beside its folder: see index.ts.) */
export { reportHtml, escapeHtml } from './html/page';
export type { PageInput, RunCard } from './html/page';
export { CHARTS_SCRIPT, SORT_SCRIPT } from './html/page-script';
export { chartJsSource } from './html/chartjs';
export { readRunSettings } from './html/run-settings';
export type { RunSettingsView } from './html/run-settings';
export { THUMB_WIDTH, makeThumbnail } from './html/thumbnails';
export { evaluationHtml } from './html/evaluation';
export type { EvaluationView, IouFigures } from './html/evaluation';
