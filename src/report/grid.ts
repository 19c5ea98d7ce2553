/** Prediction pictures: the grid of a run's best epoch, overlays, PNG encoding and the resize to the original size. (Beside its folder: see index.ts.) */
export * from './grid/layout';
export * from './grid/overlay';
export * from './grid/png';
export * from './grid/resize';
export * from './grid/prediction-grid';
