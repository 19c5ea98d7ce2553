/**
 * Layers of the study's networks on the graph IR, each registering its parameters under the PyTorch
 * state_dict name it has in the reference model. `mode` selects BatchNorm's behaviour: 'train' uses
 * batch statistics and emits the running-statistics update, 'eval' uses the running statistics.
 * Layers emit the plain ops PyTorch's modules compute (Resize then Conv, a dilated Conv, a
 * ConvTranspose); faster formulations are rewrites of the pipeline (src/graphs/pipeline.ts).
 */
import type { Graph, Value } from '../onnx/graph';
import { BATCH, IMAGE } from '../onnx/names';

export interface ParamSpec {
  name: string;
  shape: number[];
  /** Trainable parameters get gradients and AdamW state; BN buffers do not. */
  trainable: boolean;
  dtype: 'float32' | 'int64';
  init: 'uniform' | 'ones' | 'zeros' | 'count';
  fanIn?: number;
  /** false for num_batches_tracked, which the trainer counts outside the graphs. */
  graphInput: boolean;
}

export interface BnUpdate {
  name: string;
  value: Value;
}

const BN_MOMENTUM = 0.1;
const BN_EPS = 1e-5;

export class ModelBuilder {
  readonly params: ParamSpec[] = [];
  readonly paramValues = new Map<string, Value>();
  readonly bnUpdates: BnUpdate[] = [];

  constructor(readonly g: Graph, readonly mode: 'train' | 'eval') {}

  private register(spec: ParamSpec): void {
    if (this.params.some((p) => p.name === spec.name)) throw new Error(`model: parameter '${spec.name}' defined twice`);
    this.params.push(spec);
  }

  /** A float parameter or BN buffer, fed to the graphs under its state_dict name. */
  param(spec: Omit<ParamSpec, 'dtype' | 'graphInput'>): Value {
    this.register({ ...spec, dtype: 'float32', graphInput: true });
    const v = this.g.input(spec.name, spec.shape);
    this.paramValues.set(spec.name, v);
    return v;
  }

  /** nn.Conv2d(cin, cout, k, stride, padding, dilation) with bias. */
  conv(name: string, x: Value, cin: number, cout: number, o: { k?: number; stride?: number; pad?: number; dilation?: number } = {}): Value {
    const k = o.k ?? 3;
    const fanIn = cin * k * k;
    const w = this.param({ name: `${name}.weight`, shape: [cout, cin, k, k], trainable: true, init: 'uniform', fanIn });
    const b = this.param({ name: `${name}.bias`, shape: [cout], trainable: true, init: 'uniform', fanIn });
    const p = o.pad ?? (k === 3 ? 1 : 0);
    const s = o.stride ?? 1;
    const d = o.dilation ?? 1;
    return this.g.op1('Conv', [x, w, b], { kernel_shape: [k, k], pads: [p, p, p, p], strides: [s, s], dilations: [d, d] }, hint(name));
  }

  /** nn.ConvTranspose2d(cin, cout, k, stride, dilation), no padding; weight [cin, cout, k, k]. */
  convTranspose(name: string, x: Value, cin: number, cout: number, o: { k: number; stride?: number; dilation?: number }): Value {
    const fanIn = cout * o.k * o.k;
    const w = this.param({ name: `${name}.weight`, shape: [cin, cout, o.k, o.k], trainable: true, init: 'uniform', fanIn });
    const b = this.param({ name: `${name}.bias`, shape: [cout], trainable: true, init: 'uniform', fanIn });
    const s = o.stride ?? 1;
    const d = o.dilation ?? 1;
    return this.g.op1('ConvTranspose', [x, w, b], { kernel_shape: [o.k, o.k], strides: [s, s], dilations: [d, d] }, hint(name));
  }

  /**
   * nn.BatchNorm2d(c). Training: batch statistics; running_mean' = (1-m) running_mean + m mean,
   * running_var' = (1-m) running_var + m var * M/(M-1) (unbiased, M = N*H*W), as PyTorch.
   */
  batchNorm(name: string, x: Value, c: number): Value {
    const g = this.g;
    const gamma = this.param({ name: `${name}.weight`, shape: [c], trainable: true, init: 'ones' });
    const beta = this.param({ name: `${name}.bias`, shape: [c], trainable: true, init: 'zeros' });
    const rm = this.param({ name: `${name}.running_mean`, shape: [c], trainable: false, init: 'zeros' });
    const rv = this.param({ name: `${name}.running_var`, shape: [c], trainable: false, init: 'ones' });
    // counted by the trainer, outside the graphs (one per training forward pass)
    this.register({ name: `${name}.num_batches_tracked`, shape: [], trainable: false, init: 'count', dtype: 'int64', graphInput: false });
    if (this.mode === 'eval') {
      return g.op1('BatchNormalization', [x, gamma, beta, rm, rv], { epsilon: BN_EPS }, hint(name));
    }
    const [y, , mean, varB] = g.op('BatchNormTrain', [x, gamma, beta], { epsilon: BN_EPS }, hint(name));
    const m = BN_MOMENTUM;
    const count = this.count(x);
    const unbiased = g.op1('Mul', [varB, g.op1('Div', [count, g.op1('Sub', [count, g.f32(1)])])]);
    const blend = (old: Value, cur: Value) => g.op1('Add', [g.op1('Mul', [old, g.f32(1 - m)]), g.op1('Mul', [cur, g.f32(m)])]);
    this.bnUpdates.push({ name: `${name}.running_mean`, value: blend(rm, mean) });
    this.bnUpdates.push({ name: `${name}.running_var`, value: blend(rv, unbiased) });
    return y;
  }

  /** M = N*H*W as a float scalar; N is symbolic so it is read at run time. */
  private count(x: Value): Value {
    const g = this.g;
    const [N, , H, W] = x.shape;
    if (typeof H !== 'number' || typeof W !== 'number') throw new Error(`model: BatchNorm input [${x.shape}] has a symbolic height or width`);
    if (typeof N === 'number') return g.f32(N * H * W);
    const n = g.op1('Gather', [g.op1('Shape', [x]), g.i64([0], true)], { axis: 0 });
    return g.op1('Mul', [g.op1('Cast', [n], { to: 1 }), g.f32(H * W)]);
  }

  relu(x: Value): Value {
    return this.g.op1('Relu', [x]);
  }

  maxPool(x: Value): Value {
    return this.g.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] })[0];
  }

  /** nn.Upsample(scale_factor=2, mode='nearest'). */
  upsample(x: Value): Value {
    return this.g.op1('Resize', [x, null, this.g.f32([1, 1, 2, 2])], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
  }

  /** conv + BN + ReLU, the unit of every block. */
  convBnRelu(convName: string, bnName: string, x: Value, cin: number, cout: number): Value {
    return this.relu(this.batchNorm(bnName, this.conv(convName, x, cin, cout), cout));
  }

  /** block(a->b): Sequential(conv, BN, ReLU, conv, BN, ReLU), keys .0 .1 .3 .4 */
  block(name: string, x: Value, a: number, b: number): Value {
    const h = this.convBnRelu(`${name}.0`, `${name}.1`, x, a, b);
    return this.convBnRelu(`${name}.3`, `${name}.4`, h, b, b);
  }

  static imageInput(g: Graph, size: number): Value {
    return g.input(IMAGE, [BATCH, 3, size, size]);
  }
}

/** The height of an NCHW activation (static in every network here). */
export function side(x: Value): number {
  const h = x.shape[2];
  if (typeof h !== 'number') throw new Error(`model: activation [${x.shape}] has a symbolic height`);
  return h;
}

/** A value-name hint from a module name: conv1.0 -> conv1_0. */
const hint = (name: string) => name.replace(/\./g, '_');
