/**
 * Fine-tuning with the train step `melseg export --web --trainable` ships: the page's half of
 * src/train's ModelState and train step (feeds: parameters, AdamW moments, batch, lr, step; outputs:
 * the updated ones), written against no runtime, so the page (onnxruntime-web) and the tests
 * (onnxruntime-node) run the same code on the same graph.
 */
import { maskToTensor, toTensor } from '../data/tensor';
import { resizeBilinear, resizeNearest, type Image, type Mask } from '../data/image';
import * as N from '../onnx/names';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint, type CheckpointMeta } from '../checkpoint/checkpoint';
import { concatChunks } from '../checkpoint/safetensors';

/** trainable.json: what the page needs to run train_step.onnx and inference.onnx. */
export interface TrainableInfo {
  imageSize: number;
  /** state_dict order, as parameterSpecs gives them */
  params: { name: string; shape: number[]; trainable: boolean; dtype: string }[];
  stepInputs: string[];
  inferenceInputs: string[];
  /** the recipe's learning rate (src/train/recipe.ts), the page's default */
  lr: number;
}

export interface Tensorish {
  data: unknown;
}
export type MakeTensor<T> = (data: Float32Array, dims: readonly number[]) => T;

/** Images and masks resized to S x S (bilinear / nearest, as without augmentation) and normalised as training feeds them. */
export function batchOf(pairs: readonly { image: Image; mask: Mask }[], S: number): { image: Float32Array; mask: Float32Array; count: number } {
  const image = new Float32Array(pairs.length * 3 * S * S);
  const mask = new Float32Array(pairs.length * S * S);
  pairs.forEach((p, i) => {
    toTensor(resizeBilinear(p.image, S), image, i * 3 * S * S);
    maskToTensor(resizeNearest(p.mask, S), mask, i * S * S);
  });
  return { image, mask, count: pairs.length };
}

export class FineTuner {
  readonly values = new Map<string, Float32Array>();
  readonly m = new Map<string, Float32Array>();
  readonly v = new Map<string, Float32Array>();
  /** AdamW steps taken, counted on from the checkpoint's */
  step: number;
  private batchesTracked: bigint;

  constructor(
    private readonly start: Checkpoint,
    readonly info: TrainableInfo,
  ) {
    for (const p of info.params) {
      const t = start.params[p.name];
      if (!t) throw new Error(`the checkpoint lacks '${p.name}'; export the page again from a melseg checkpoint`);
      if (p.dtype === 'int64') continue;
      this.values.set(p.name, Float32Array.from(t.data as Float32Array));
      if (p.trainable) {
        const n = t.data.length;
        this.m.set(p.name, start.optimizer?.m[p.name] ? Float32Array.from(start.optimizer.m[p.name]) : new Float32Array(n));
        this.v.set(p.name, start.optimizer?.v[p.name] ? Float32Array.from(start.optimizer.v[p.name]) : new Float32Array(n));
      }
    }
    this.step = start.optimizer?.step ?? 0;
    const tracked = info.params.find((p) => p.dtype === 'int64');
    this.batchesTracked = tracked ? ((start.params[tracked.name]?.data as BigInt64Array)[0] ?? 0n) : 0n;
  }

  static fromBytes(bytes: Uint8Array, file: string, info: TrainableInfo): FineTuner {
    return new FineTuner(decodeCheckpoint(bytes, file), info);
  }

  /** Feeds of `inputs`: parameters, BN statistics, moments (train step) by name. */
  private paramFeeds<T>(inputs: readonly string[], make: MakeTensor<T>): Record<string, T> {
    const f: Record<string, T> = {};
    for (const p of this.info.params) {
      if (p.dtype === 'int64') continue;
      if (inputs.includes(p.name)) f[p.name] = make(this.values.get(p.name)!, p.shape);
      if (inputs.includes(N.firstMoment(p.name))) f[N.firstMoment(p.name)] = make(this.m.get(p.name)!, p.shape);
      if (inputs.includes(N.secondMoment(p.name))) f[N.secondMoment(p.name)] = make(this.v.get(p.name)!, p.shape);
    }
    return f;
  }

  /** One AdamW step's feeds, as src/train/trainer.ts gives them (step counts from 1). */
  stepFeeds<T>(make: MakeTensor<T>, batch: ReturnType<typeof batchOf>, lr: number): Record<string, T> {
    const S = this.info.imageSize;
    return {
      ...this.paramFeeds(this.info.stepInputs, make),
      [N.IMAGE]: make(batch.image, [batch.count, 3, S, S]),
      [N.MASK]: make(batch.mask, [batch.count, 1, S, S]),
      [N.LR]: make(Float32Array.of(lr), []),
      [N.STEP]: make(Float32Array.of(this.step + 1), []),
    };
  }

  /** Takes a step's outputs (updated parameters, moments, BN statistics); returns the loss. */
  absorb(out: Record<string, Tensorish>): number {
    for (const p of this.info.params) {
      if (p.dtype === 'int64') continue;
      const next = out[N.nextName(p.name)];
      if (next) this.values.set(p.name, Float32Array.from(next.data as Float32Array));
      if (p.trainable) {
        this.m.set(p.name, Float32Array.from(out[N.nextName(N.firstMoment(p.name))].data as Float32Array));
        this.v.set(p.name, Float32Array.from(out[N.nextName(N.secondMoment(p.name))].data as Float32Array));
      }
    }
    this.step += 1;
    this.batchesTracked += 1n;
    return (out[N.LOSS].data as Float32Array)[0];
  }

  /** inference.onnx's parameter feeds (its image input is normalised as training's). */
  inferenceFeeds<T>(make: MakeTensor<T>): Record<string, T> {
    return this.paramFeeds(this.info.inferenceInputs, make);
  }

  /** The adapted model as a melseg checkpoint (safetensors bytes, AdamW moments included). */
  checkpointBytes(extra: Partial<CheckpointMeta> = {}): Uint8Array {
    const params: Checkpoint['params'] = {};
    for (const p of this.info.params) {
      params[p.name] = p.dtype === 'int64' ? { dtype: 'int64', shape: p.shape, data: BigInt64Array.of(this.batchesTracked) } : { dtype: 'float32', shape: p.shape, data: this.values.get(p.name)! };
    }
    const ck: Checkpoint = {
      meta: { ...this.start.meta, ...extra },
      params,
      optimizer: { step: this.step, m: Object.fromEntries(this.m), v: Object.fromEntries(this.v) },
    };
    return concatChunks(encodeCheckpoint(ck, 'fine-tuned.ckpt'));
  }
}
