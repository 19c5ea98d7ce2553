/**
 * Reporting: the results CSV (results/), the PNG charts (charts/), report.html (html/), drawCharts
 * which writes them all (draw.ts), and prediction grids and predict-time mask/overlay PNGs (grid/).
 *
 * Each folder's public names are gathered by a file beside it (results.ts for results/), not by an
 * index.ts inside it: these modules were single files once, and Node resolves `./results` to a stale
 * dist/report/results.js before a folder, so a build over an older dist/ would keep running old code.
 */
export * from './names';
export * from './results';
export * from './charts';
export * from './html';
export * from './draw';
export * from './grid';
