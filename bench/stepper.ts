/**
 * The training loop's hot path, isolated: one fused train-step session (forward, loss, gradients,
 * AdamW, BN running statistics) run by the trainer's own step (src/train/step.ts: the state updated
 * in place), or with `fresh` as melseg ran it before (new output tensors each step, taken over as the
 * next step's inputs), with the time of each part measured.
 */
import * as fs from 'fs';
import * as ort from 'onnxruntime-node';
import { parameterSpecs, pipeline, resolveConfig, targetFor, trainStepGraph, type ResolvedConfig, type Target } from '../src/graphs';
import { DEVICE_PASSES } from '../src/graphs/pipeline';
import type { ParamSpec } from '../src/models/builder';
import { seededUniform } from '../src/models/init';
import * as N from '../src/onnx/names';
import { serialize } from '../src/onnx/proto';
import { openSession } from '../src/onnx/session';
import { ModelState } from '../src/checkpoint/state';
import { TrainStep } from '../src/train/step';
import type { Graph } from '../src/onnx/graph';
import { liveness, type Liveness } from './liveness';
import { findProfile, profilePrefix } from './profile';

export interface StepperOptions {
  model: number | string;
  imageSize: number;
  width: number;
  batch: number;
  /** loss number (the benchmark's default: 9, tversky alpha 0.5) */
  loss?: number;
  threads?: number;
  profile?: boolean;
  /** extra or overriding onnxruntime session options (experiments) */
  session?: ort.InferenceSession.SessionOptions;
  /** the compile target (default: this CPU's pipeline); the session always runs on the CPU */
  target?: Target['device'];
  /** the CPU pipeline's NCHWc choice, overridden (src/graphs/pipeline.ts) */
  nchwc?: boolean;
  /** device passes dropped from the target's pipeline, and added before its prune (by name) */
  drop?: string[];
  add?: string[];
  /** a train-step graph file to run instead of compiling one (e.g. an older melseg's, for before/after) */
  file?: string;
  /** fresh output tensors each step, as melseg ran the step before src/train/step.ts (memory before/after) */
  fresh?: boolean;
}

export interface StepTime {
  /** wall time of the whole step */
  totalMs: number;
  /** the step's run: graph execution plus the binding's input wrapping (and, fresh, its output copies) */
  runMs: number;
  /** outside the run: picking the batch (and, fresh, building the feeds from the previous outputs) */
  jsMs: number;
  /**
   * CPU time of this process (all threads) over the step: on a machine shared with other work, a
   * steadier measure of the work than wall time (with 1 thread; more threads add their spin-waits)
   */
  cpuMs: number;
  /**
   * growth of the process's ArrayBuffer bytes over the step: what JS allocated outside V8's heap (the
   * binding's output copies; a garbage collection inside the step makes it smaller)
   */
  arrayBufferBytes: number;
}

export interface StepperInfo {
  config: ResolvedConfig;
  nodes: number;
  opCounts: Record<string, number>;
  graphBytes: number;
  buildMs: number;
  sessionMs: number;
  /** bytes fed as parameters/moments/BN stats each step (= bytes returned) */
  stateBytes: number;
  /** the graph's memory by liveness in node order (bench/liveness.ts); absent for --file */
  liveness?: Liveness;
  /** the compiled graph (absent for --file) */
  graph?: Graph;
}

export class TrainStepper {
  private readonly state: ModelState;
  private readonly step: TrainStep;
  private k = 0;
  private batches: { image: Float32Array; mask: Float32Array }[] = [];

  lastLoss = NaN;

  private constructor(readonly session: ort.InferenceSession, private readonly prefix: string, readonly info: StepperInfo, private readonly o: StepperOptions, specs: ParamSpec[]) {
    const c = info.config;
    this.state = ModelState.fresh(c, specs);
    this.step = new TrainStep(session, this.state, c.imageSize);
    // Two random batches, alternated: images ~ U(-1,1), masks a random disc per image.
    const rand = seededUniform(7);
    const S = c.imageSize;
    const B = o.batch;
    for (let k = 0; k < 2; k++) {
      const image = new Float32Array(B * 3 * S * S).map(() => 2 * rand() - 1);
      const mask = new Float32Array(B * S * S);
      for (let b = 0; b < B; b++) {
        const [cy, cx, r] = [S * (0.3 + 0.4 * rand()), S * (0.3 + 0.4 * rand()), S * (0.1 + 0.2 * rand())];
        for (let i = 0; i < S; i++) for (let j = 0; j < S; j++) mask[b * S * S + i * S + j] = (i - cy) ** 2 + (j - cx) ** 2 < r * r ? 1 : 0;
      }
      this.batches.push({ image, mask });
    }
  }

  static async create(o: StepperOptions): Promise<TrainStepper> {
    const c = resolveConfig({ model: o.model, loss: o.loss ?? 9, imageSize: o.imageSize, width: o.width, seed: 1, nchwc: o.nchwc });
    const t0 = performance.now();
    const target = o.target && o.target !== 'cpu' ? { device: o.target } : await targetFor('cpu');
    const p = pipeline(c, target);
    const unknown = [...(o.drop ?? []), ...(o.add ?? [])].filter((n) => !DEVICE_PASSES[n] && !p.devicePasses.some((q) => q.name === n));
    if (unknown.length) throw new Error(`bench: no device pass named ${unknown.join(', ')} (known: ${Object.keys(DEVICE_PASSES).join(', ')})`);
    const kept = p.devicePasses.filter((q) => !o.drop?.includes(q.name));
    const at = kept.findIndex((q) => q.name === 'prune');
    const last = at < 0 ? kept.length : at;
    const devicePasses = [...kept.slice(0, last), ...(o.add ?? []).map((n) => DEVICE_PASSES[n]), ...kept.slice(last)];
    const g = o.file ? undefined : trainStepGraph(c, { ...p, devicePasses });
    const bytes = g ? serialize(g) : fs.readFileSync(o.file ?? '');
    const t1 = performance.now();
    const prefix = o.profile ? profilePrefix() : '';
    const extra = { ...(o.profile ? { enableProfiling: true, profileFilePrefix: prefix } : {}), ...o.session };
    const session = await openSession(bytes, 'cpu', { threads: o.threads ?? 2, extra });
    const t2 = performance.now();
    const specs = parameterSpecs(c);
    let stateBytes = 0;
    for (const p of specs) if (p.graphInput) stateBytes += p.shape.reduce((a, b) => a * b, 1) * 4 * (p.trainable ? 3 : 1);
    return new TrainStepper(session, prefix, {
      config: c, nodes: g?.nodes.length ?? 0, opCounts: g?.opCounts() ?? {}, graphBytes: bytes.length, buildMs: t1 - t0, sessionMs: t2 - t1, stateBytes,
      liveness: g && liveness(g, o.batch, { outputsInPlace: !o.fresh }), graph: g,
    }, o, specs);
  }

  /** One training step; the next one starts from its updated state. */
  async run(): Promise<StepTime> {
    const a0 = process.memoryUsage().arrayBuffers;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    this.k++;
    const b = this.batches[this.k % 2];
    const B = this.o.batch;
    const S = this.info.config.imageSize;
    let t1: number, t2: number;
    if (this.o.fresh) {
      const feeds = {
        ...this.state.feeds(this.session.inputNames),
        [N.IMAGE]: new ort.Tensor('float32', b.image, [B, 3, S, S]),
        [N.MASK]: new ort.Tensor('float32', b.mask, [B, 1, S, S]),
        [N.LR]: new ort.Tensor('float32', Float32Array.of(3e-4), []),
        [N.STEP]: new ort.Tensor('float32', Float32Array.of(this.state.step + 1), []),
      };
      t1 = performance.now();
      const r = await this.session.run(feeds);
      t2 = performance.now();
      this.state.absorb(r);
      this.lastLoss = r[N.LOSS].data[0] as number;
    } else {
      t1 = performance.now();
      this.lastLoss = await this.step.run(b.image, b.mask, B, 3e-4);
      t2 = performance.now();
    }
    const t3 = performance.now();
    const c = process.cpuUsage(c0);
    return { totalMs: t3 - t0, runMs: t2 - t1, jsMs: t1 - t0 + (t3 - t2), cpuMs: (c.user + c.system) / 1000, arrayBufferBytes: process.memoryUsage().arrayBuffers - a0 };
  }

  /** Ends profiling; returns the profile file onnxruntime wrote (profile mode only). */
  endProfiling(): string | undefined {
    if (!this.o.profile) return undefined;
    // onnxruntime-node's endProfiling returns nothing; the file is <prefix>_<date>.json.
    this.session.endProfiling();
    return findProfile(this.prefix);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
