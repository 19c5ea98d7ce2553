/** Sweeps over models x losses, and the chart / merge helpers behind `melseg chart` and `melseg merge`. */
export * from './spec';
export * from './state';
export * from './eta';
export * from './progress-of-run';
export * from './report';
export * from './sweep';
