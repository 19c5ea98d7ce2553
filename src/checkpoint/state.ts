/**
 * The model's state between graph runs: parameters and BN buffers (state_dict names), AdamW moments
 * and step, and the shared BatchNorm batch counter. Converts to and from checkpoints and graph feeds.
 */
import * as ort from 'onnxruntime-node';
import type { ResolvedConfig } from '../graphs';
import { initialCheckpoint, meta as configMeta } from '../graphs';
import type { ParamSpec } from '../models/builder';
import * as N from '../onnx/names';
import type { Checkpoint, CheckpointMeta } from './checkpoint';
import { checkCompatible } from './checkpoint';

export class ModelState {
  /** Float tensors fed to the graphs: trainable parameters and BN running statistics. */
  readonly values = new Map<string, Float32Array>();
  readonly m = new Map<string, Float32Array>();
  readonly v = new Map<string, Float32Array>();
  /** AdamW steps taken (the next step is step + 1). */
  step = 0;
  /** BatchNorm's num_batches_tracked: one per training forward pass, equal for every BN layer. */
  batchesTracked = 0n;

  private constructor(readonly specs: ParamSpec[]) {}

  static fresh(c: ResolvedConfig, specs: ParamSpec[]): ModelState {
    // the initial checkpoint is this state's alone: take its arrays instead of copying them
    return ModelState.fromCheckpoint(initialCheckpoint(c, specs), specs, c, { adopt: true });
  }

  /** `adopt`: keep the checkpoint's parameter arrays (the caller gives them up) instead of copies. */
  static fromCheckpoint(ck: Checkpoint, specs: ParamSpec[], c: ResolvedConfig, o: { adopt?: boolean } = {}): ModelState {
    const shapes = Object.fromEntries(specs.map((p) => [p.name, p.shape]));
    checkCompatible(ck, { model: c.model.id, imageSize: c.imageSize, width: c.width }, shapes, Object.fromEntries(specs.map((p) => [p.name, p.dtype])));
    const s = new ModelState(specs);
    for (const p of specs) {
      const t = ck.params[p.name];
      if (p.dtype === 'int64') {
        if (t) s.batchesTracked = (t.data as BigInt64Array)[0] ?? 0n;
        continue;
      }
      s.values.set(p.name, o.adopt ? (t.data as Float32Array) : Float32Array.from(t.data as Float32Array));
      if (p.trainable) {
        const n = t.data.length;
        s.m.set(p.name, ck.optimizer?.m[p.name] ? Float32Array.from(ck.optimizer.m[p.name]) : new Float32Array(n));
        s.v.set(p.name, ck.optimizer?.v[p.name] ? Float32Array.from(ck.optimizer.v[p.name]) : new Float32Array(n));
      }
    }
    s.step = ck.optimizer?.step ?? 0;
    return s;
  }

  toCheckpoint(c: ResolvedConfig, extra: Partial<CheckpointMeta>, opts: { optimizer: boolean; trainerState?: unknown }): Checkpoint {
    const params: Checkpoint['params'] = {};
    for (const p of this.specs) {
      if (p.dtype === 'int64') params[p.name] = { dtype: 'int64', shape: p.shape, data: BigInt64Array.of(this.batchesTracked) };
      else params[p.name] = { dtype: 'float32', shape: p.shape, data: this.values.get(p.name)! };
    }
    const ck: Checkpoint = { meta: { ...configMeta(c), ...extra }, params };
    if (opts.optimizer) ck.optimizer = { step: this.step, m: Object.fromEntries(this.m), v: Object.fromEntries(this.v) };
    if (opts.trainerState !== undefined) ck.trainerState = opts.trainerState;
    return ck;
  }

  /** Feeds for a graph's parameter inputs (and, for the train step, the AdamW moments). */
  feeds(inputs: readonly string[]): Record<string, ort.Tensor> {
    const f: Record<string, ort.Tensor> = {};
    const shape = new Map(this.specs.map((p) => [p.name, p.shape]));
    for (const name of inputs) {
      const val = this.values.get(name);
      if (val) {
        f[name] = new ort.Tensor('float32', val, shape.get(name)!);
        continue;
      }
      for (const p of this.specs) {
        if (name === N.firstMoment(p.name)) f[name] = new ort.Tensor('float32', this.m.get(p.name)!, p.shape);
        else if (name === N.secondMoment(p.name)) f[name] = new ort.Tensor('float32', this.v.get(p.name)!, p.shape);
      }
    }
    return f;
  }

  /** Take a train step's outputs: updated parameters, moments and BN statistics. */
  absorb(out: ort.InferenceSession.OnnxValueMapType): void {
    for (const p of this.specs) {
      if (p.dtype === 'int64') continue;
      const next = out[N.nextName(p.name)];
      if (next) this.values.set(p.name, next.data as Float32Array);
      if (p.trainable) {
        const m = out[N.nextName(N.firstMoment(p.name))];
        const v = out[N.nextName(N.secondMoment(p.name))];
        if (m) this.m.set(p.name, m.data as Float32Array);
        if (v) this.v.set(p.name, v.data as Float32Array);
      }
    }
    this.step += 1;
    this.batchesTracked += 1n;
  }
}
