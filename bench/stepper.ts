/**
 * The training loop's hot path, isolated: one fused train-step session (forward, loss, gradients,
 * AdamW, BN running statistics), fed each step with the previous step's outputs exactly as the
 * trainer feeds them, with the time of each part measured.
 */
import * as fs from 'fs';
import * as ort from 'onnxruntime-node';
import { initialCheckpoint, parameterSpecs, pipeline, resolveConfig, targetFor, trainStepGraph, type ResolvedConfig, type Target } from '../src/graphs';
import { DEVICE_PASSES } from '../src/graphs/pipeline';
import type { ParamSpec } from '../src/models/builder';
import { seededUniform } from '../src/models/init';
import * as N from '../src/onnx/names';
import { serialize } from '../src/onnx/proto';
import { openSession } from '../src/onnx/session';
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
  /** device passes dropped from the target's pipeline, and added before its final prune (by name) */
  drop?: string[];
  add?: string[];
  /** a train-step graph file to run instead of compiling one (e.g. an older melseg's, for before/after) */
  file?: string;
}

export interface StepTime {
  /** wall time of the whole step */
  totalMs: number;
  /** inside session.run: graph execution plus the binding's input wrapping and output copies */
  runMs: number;
  /** outside session.run: building the feeds from the previous outputs (JS) */
  jsMs: number;
  /**
   * CPU time of this process (all threads) over the step: on a machine shared with other work, a
   * steadier measure of the work than wall time (with 1 thread; more threads add their spin-waits)
   */
  cpuMs: number;
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
}

export class TrainStepper {
  private feeds: Record<string, ort.Tensor> = {};
  /** output name -> the input it feeds next step */
  private readonly loop: [string, string][] = [];
  private step = 0;
  private batches: { image: ort.Tensor; mask: ort.Tensor }[] = [];

  lastLoss = NaN;

  private constructor(readonly session: ort.InferenceSession, private readonly prefix: string, readonly info: StepperInfo, private readonly o: StepperOptions) {}

  static async create(o: StepperOptions): Promise<TrainStepper> {
    const c = resolveConfig({ model: o.model, loss: o.loss ?? 9, imageSize: o.imageSize, width: o.width, seed: 1, nchwc: o.nchwc });
    const t0 = performance.now();
    const target = o.target && o.target !== 'cpu' ? { device: o.target } : await targetFor('cpu');
    const p = pipeline(c, target);
    const unknown = [...(o.drop ?? []), ...(o.add ?? [])].filter((n) => !DEVICE_PASSES[n] && !p.devicePasses.some((q) => q.name === n));
    if (unknown.length) throw new Error(`bench: no device pass named ${unknown.join(', ')} (known: ${Object.keys(DEVICE_PASSES).join(', ')})`);
    const kept = p.devicePasses.filter((q) => !o.drop?.includes(q.name));
    const devicePasses = [...kept.slice(0, -1), ...(o.add ?? []).map((n) => DEVICE_PASSES[n]), ...kept.slice(-1)];
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
    const s = new TrainStepper(session, prefix, {
      config: c, nodes: g?.nodes.length ?? 0, opCounts: g?.opCounts() ?? {}, graphBytes: bytes.length, buildMs: t1 - t0, sessionMs: t2 - t1, stateBytes,
    }, o);
    s.init(specs);
    return s;
  }

  private init(specs: ParamSpec[]): void {
    const c = this.info.config;
    const ck = initialCheckpoint(c, specs);
    for (const p of specs) {
      const init = ck.params[p.name];
      if (!p.graphInput || !(init.data instanceof Float32Array)) continue;
      this.feeds[p.name] = new ort.Tensor('float32', init.data, p.shape);
      if (p.name.endsWith('.running_mean') || p.name.endsWith('.running_var')) this.loop.push([N.nextName(p.name), p.name]);
      if (!p.trainable) continue;
      this.loop.push([N.nextName(p.name), p.name]);
      for (const m of [N.firstMoment(p.name), N.secondMoment(p.name)]) {
        this.feeds[m] = new ort.Tensor('float32', new Float32Array(p.shape.reduce((a, b) => a * b, 1)), p.shape);
        this.loop.push([N.nextName(m), m]);
      }
    }
    // Two random batches, alternated: images ~ U(-1,1), masks a random disc per image.
    const rand = seededUniform(7);
    const S = c.imageSize;
    const B = this.o.batch;
    for (let k = 0; k < 2; k++) {
      const image = new Float32Array(B * 3 * S * S).map(() => 2 * rand() - 1);
      const mask = new Float32Array(B * S * S);
      for (let b = 0; b < B; b++) {
        const [cy, cx, r] = [S * (0.3 + 0.4 * rand()), S * (0.3 + 0.4 * rand()), S * (0.1 + 0.2 * rand())];
        for (let i = 0; i < S; i++) for (let j = 0; j < S; j++) mask[b * S * S + i * S + j] = (i - cy) ** 2 + (j - cx) ** 2 < r * r ? 1 : 0;
      }
      this.batches.push({ image: new ort.Tensor('float32', image, [B, 3, S, S]), mask: new ort.Tensor('float32', mask, [B, 1, S, S]) });
    }
    this.feeds[N.LR] = new ort.Tensor('float32', Float32Array.of(3e-4), []);
  }

  /** One training step; its outputs become the next step's inputs. */
  async run(): Promise<StepTime> {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    this.step++;
    const b = this.batches[this.step % 2];
    this.feeds[N.IMAGE] = b.image;
    this.feeds[N.MASK] = b.mask;
    this.feeds[N.STEP] = new ort.Tensor('float32', Float32Array.of(this.step), []);
    const t1 = performance.now();
    const r = await this.session.run(this.feeds);
    const t2 = performance.now();
    for (const [out, inp] of this.loop) this.feeds[inp] = r[out];
    this.lastLoss = r[N.LOSS].data[0] as number;
    const t3 = performance.now();
    const c = process.cpuUsage(c0);
    return { totalMs: t3 - t0, runMs: t2 - t1, jsMs: t1 - t0 + (t3 - t2), cpuMs: (c.user + c.system) / 1000 };
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
