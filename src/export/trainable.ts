/**
 * `melseg export --web DIR --trainable`: what fine-tuning in the page needs, beside the page:
 *
 *   train_step.onnx   the fused train step (forward, loss, gradients, AdamW) of the checkpoint's
 *                     model x loss at its size, compiled for the 'portable' target (ops every
 *                     provider runs whole, WebGPU's run-time refusals included: src/graphs/pipeline.ts)
 *   inference.onnx    the eval-mode network with its weights as inputs, to segment with adapted weights
 *   start.ckpt        the checkpoint the page starts from (a copy)
 *   trainable.json    parameter names and shapes, the graphs' inputs, the recipe's learning rate
 */
import * as path from 'path';
import { inferenceGraph, parameterSpecs, trainStepGraph, type ResolvedConfig } from '../graphs';
import { serialize } from '../onnx/proto';
import { RECIPES } from '../train/recipe';
import { copyFileAtomic, writeFileAtomic } from '../util/atomic';
import type { TrainableInfo } from './finetune';

export const TRAINABLE_FILES = ['train_step.onnx', 'inference.onnx', 'start.ckpt', 'trainable.json'] as const;

export async function writeTrainable(dir: string, c: ResolvedConfig, checkpoint: string): Promise<string[]> {
  const target = { device: 'portable' as const };
  const step = trainStepGraph(c, target);
  const infer = inferenceGraph(c, target);
  const info: TrainableInfo = {
    imageSize: c.imageSize,
    params: parameterSpecs(c).map((p) => ({ name: p.name, shape: [...p.shape], trainable: p.trainable, dtype: p.dtype })),
    stepInputs: step.inputs.map((v) => v.name),
    inferenceInputs: infer.inputs.map((v) => v.name),
    lr: RECIPES.melseg.lr,
  };
  await writeFileAtomic(path.join(dir, 'train_step.onnx'), serialize(step));
  await writeFileAtomic(path.join(dir, 'inference.onnx'), serialize(infer));
  await copyFileAtomic(checkpoint, path.join(dir, 'start.ckpt'));
  await writeFileAtomic(path.join(dir, 'trainable.json'), JSON.stringify(info) + '\n');
  return [...TRAINABLE_FILES];
}
