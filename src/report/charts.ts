/** The report's PNG charts: curves.png, curves_top.png and metrics.png. (Beside its folder: see index.ts.) */
export { PALETTE } from './charts/render';
export { drawCurves } from './charts/curves';
export { drawTopCurves, topCombinations } from './charts/top';
export { drawMetricBars, textOn } from './charts/metrics';
export { comboKey, fmt, lossesOf, modelColours, modelsOf, seriesByCombination } from './charts/series';
