/** Public API of the data pipeline: loading, splitting, augmenting and batching lesion datasets. */
export { decodeImage, decodeMask, resizeBilinear, resizeNearest, fitWithin, MASK_TOLERANCE, type Image, type FloatImage, type Mask } from './image';
export { jpegDecoderId } from './decode';
export {
  loadDataset,
  listIds,
  defaultCacheDir,
  defaultSourceMaxSide,
  maskWarnings,
  type Dataset,
  type LoadOptions,
  type SourceRes,
} from './datasets';
export { detectLayout, listPairs, LAYOUT_HELP, type DetectedLayout, type Layout, type SamplePair } from './layouts';
export { makeSplit, loadSplit, saveSplit, indicesOf, foldSplit, planSplit, type Fold, type Split, type SplitOptions, type SplitSource } from './split';
export {
  drawParams,
  applyAugment,
  identityParams,
  CACHED_AUGMENT,
  GEOMETRY_ONLY,
  AUGMENT_PRESETS,
  AUGMENT_TRANSFORMS,
  augmentPreset,
  withOverrides,
  withoutTransforms,
  needsSourceRes,
  type AugmentPresetName,
  type AugmentTransform,
  type AugmentOverrides,
  type AugmentConfig,
  type AugmentParams,
} from './augment';
export { toTensor, maskToTensor, IMAGENET_MEAN, IMAGENET_STD } from './tensor';
export { augmentParamsFor, collate } from './collate';
export { BatchLoader, defaultWorkerScript, type Batch, type BatchLoaderOptions, type BatchSource } from './batches';
export { Rng, STREAM } from './rng';
export { generateSynthetic } from './synthetic';
