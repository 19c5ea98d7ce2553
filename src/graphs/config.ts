/** What a compilation is of: a model x loss at an image size and width (the numbers of the tables). */
import { type LossDef, resolveLoss } from '../losses';
import { baseWidth, checkImageSize, type ModelDef, resolveModel } from '../models';

export interface GraphConfig {
  model: number | string;
  loss: number | string;
  /** No default here: the recipes hold it (src/train/recipe.ts). */
  imageSize: number;
  width: number;
  /** seed of the initial weights */
  seed?: number;
  /**
   * CPU only, an override of the pipeline's measured rule (src/graphs/pipeline.ts): true runs the
   * narrow convolutions on onnxruntime's NCHWc kernels, false never does; absent: the rule decides.
   */
  nchwc?: boolean;
}

export interface ResolvedConfig {
  model: ModelDef;
  loss: LossDef;
  imageSize: number;
  width: number;
  seed: number;
  nchwc?: boolean;
}

export function resolveConfig(c: GraphConfig): ResolvedConfig {
  const { imageSize, width } = c;
  checkImageSize(imageSize);
  baseWidth(width);
  return { model: resolveModel(c.model), loss: resolveLoss(c.loss), imageSize, width, seed: c.seed ?? 0, ...(c.nchwc !== undefined ? { nchwc: c.nchwc } : {}) };
}

/** The configuration as a checkpoint records it. */
export function meta(c: ResolvedConfig) {
  return { model: c.model.id, modelName: c.model.name, loss: c.loss.id, lossName: c.loss.name, imageSize: c.imageSize, width: c.width };
}

/** `<Model>_<loss>`, with `_s<S>_w<W>` unless the study's 256 px at width 1: build-graph's folder under graphs/. */
export function graphDirName(c: ResolvedConfig): string {
  const suffix = c.imageSize === 256 && c.width === 1 ? '' : `_s${c.imageSize}_w${c.width}`;
  return `${c.model.name}_${c.loss.name}${suffix}`;
}
