/** The compiler's front door: configurations, the graphs of a model x loss, their pipeline and cache. */
export { evalGraph, inferenceGraph, optimizerGraph, trainingGraph, trainStepGraph } from './build';
export { ensureGraphs, targetFor, writeGraphs } from './cache';
export { GRAPH_FILES } from './compile';
export { graphDirName, meta, resolveConfig, type ResolvedConfig } from './config';
export { exportPipeline, pipeline, type Pipeline, type Target } from './pipeline';
export { countParameters, initialCheckpoint, parameterSpecs } from './weights';
