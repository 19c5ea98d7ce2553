/** Prediction pictures: the grid of a run's best epoch, overlays, and the mask / overlay PNGs of `melseg predict`. (Beside its folder: see index.ts.) */
export * from './grid/layout';
export * from './grid/overlay';
export * from './grid/png';
export * from './grid/resize';
export * from './grid/masks';
export * from './grid/prediction-grid';
