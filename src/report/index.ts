/** Reporting: the results CSV, charts + HTML report, prediction grids and predict-time mask/overlay PNGs. */
export * from './names';
export * from './results';
export * from './charts';
export * from './grid';
export { fakeResults, mulberry32 } from './fake';
export type { FakeResultsOptions } from './fake';
