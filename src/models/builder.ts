/**
 * Layers of the study's networks on the graph IR, each registering its parameters under the PyTorch
 * state_dict name it has in the reference model. `mode` selects BatchNorm's behaviour: 'train' uses
 * batch statistics and emits the running-statistics update, 'eval' uses the running statistics.
 */
import type { Graph, Value } from '../onnx/graph';
import { BATCH } from '../onnx/names';
import { upsampleConv3x3 } from '../ops/upsample-conv';
import { pixelShuffleConvTranspose, quadrantConv, quadrantConvTranspose } from '../ops/quadrant-conv';

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

export const BN_MOMENTUM = 0.1;
export const BN_EPS = 1e-5;

export class ModelBuilder {
  readonly params: ParamSpec[] = [];
  readonly paramValues = new Map<string, Value>();
  readonly bnUpdates: BnUpdate[] = [];
  /** outputs of upsample(), which conv() may fold into a sub-pixel convolution */
  private readonly upsampled = new Set<string>();

  constructor(readonly g: Graph, readonly mode: 'train' | 'eval') {}

  param(spec: Omit<ParamSpec, 'dtype' | 'graphInput'> & { dtype?: 'float32' | 'int64'; graphInput?: boolean }): Value | null {
    const full: ParamSpec = { dtype: 'float32', graphInput: true, ...spec };
    if (this.params.some((p) => p.name === full.name)) throw new Error(`model: parameter '${full.name}' defined twice`);
    this.params.push(full);
    if (!full.graphInput) return null;
    const v = this.g.input(full.name, full.shape, full.dtype);
    this.paramValues.set(full.name, v);
    return v;
  }

  /** nn.Conv2d(cin, cout, k, stride, padding, dilation) with bias. */
  conv(name: string, x: Value, cin: number, cout: number, o: { k?: number; stride?: number; pad?: number; dilation?: number } = {}): Value {
    const k = o.k ?? 3;
    const fanIn = cin * k * k;
    const w = this.param({ name: `${name}.weight`, shape: [cout, cin, k, k], trainable: true, init: 'uniform', fanIn })!;
    const b = this.param({ name: `${name}.bias`, shape: [cout], trainable: true, init: 'uniform', fanIn })!;
    const p = o.pad ?? (k === 3 ? 1 : 0);
    const s = o.stride ?? 1;
    const d = o.dilation ?? 1;
    // A 3x3 conv of a nearest 2x upsampling runs on the low-resolution input (src/ops/upsample-conv.ts);
    // the Resize is then unused and pruned.
    const up = this.upsampledFrom(x);
    if (up && k === 3 && p === 1 && s === 1 && d === 1 && (this.g.lowering.upsampleConv ?? 'subpixel') === 'subpixel') {
      return upsampleConv3x3(this.g, up, w, b, name.replace(/\./g, '_'));
    }
    // UNet_dilate's pooling: 2x2 taps dilated by half the image, one per quadrant (src/ops/quadrant-conv.ts)
    const [H, W] = [x.shape[2] as number, x.shape[3] as number];
    if (k === 2 && p === 0 && s === 1 && H % 2 === 0 && W === H && d === H / 2 && (this.g.lowering.dilatedPool ?? 'quadrants') === 'quadrants') {
      return quadrantConv(this.g, x, w, b, name.replace(/\./g, '_'));
    }
    return this.g.op1('Conv', [x, w, b], { kernel_shape: [k, k], pads: [p, p, p, p], strides: [s, s], dilations: [d, d] }, name.replace(/\./g, '_'));
  }

  /** The input of `x` if x is this builder's nearest 2x upsampling of it. */
  private upsampledFrom(x: Value): Value | undefined {
    const n = this.g.producerOf(x.name);
    if (!n || n.op !== 'Resize' || !this.upsampled.has(x.name)) return undefined;
    return this.g.value(n.inputs[0]);
  }

  /** nn.ConvTranspose2d(cin, cout, k, stride, dilation), no padding; weight [cin, cout, k, k]. */
  convTranspose(name: string, x: Value, cin: number, cout: number, o: { k: number; stride?: number; dilation?: number }): Value {
    const fanIn = cout * o.k * o.k;
    const w = this.param({ name: `${name}.weight`, shape: [cin, cout, o.k, o.k], trainable: true, init: 'uniform', fanIn })!;
    const b = this.param({ name: `${name}.bias`, shape: [cout], trainable: true, init: 'uniform', fanIn })!;
    const s = o.stride ?? 1;
    const d = o.dilation ?? 1;
    const hint = name.replace(/\./g, '_');
    // optionally, 2x2 up-convolutions as one 1x1 conv and a data move (src/ops/quadrant-conv.ts)
    if (o.k === 2 && this.g.lowering.upConv2x2 === 'gemm') {
      if (s === 2 && d === 1) return pixelShuffleConvTranspose(this.g, x, w, b, hint);
      if (s === 1 && d === x.shape[2] && d === x.shape[3]) return quadrantConvTranspose(this.g, x, w, b, hint);
    }
    return this.g.op1('ConvTranspose', [x, w, b], { kernel_shape: [o.k, o.k], strides: [s, s], dilations: [d, d] }, hint);
  }


  /**
   * nn.BatchNorm2d(c). Training: batch statistics; running_mean' = (1-m) running_mean + m mean,
   * running_var' = (1-m) running_var + m var * M/(M-1) (unbiased, M = N*H*W), as PyTorch.
   */
  batchNorm(name: string, x: Value, c: number): Value {
    const g = this.g;
    const gamma = this.param({ name: `${name}.weight`, shape: [c], trainable: true, init: 'ones' })!;
    const beta = this.param({ name: `${name}.bias`, shape: [c], trainable: true, init: 'zeros' })!;
    const rm = this.param({ name: `${name}.running_mean`, shape: [c], trainable: false, init: 'zeros' })!;
    const rv = this.param({ name: `${name}.running_var`, shape: [c], trainable: false, init: 'ones' })!;
    this.param({ name: `${name}.num_batches_tracked`, shape: [], trainable: false, init: 'count', dtype: 'int64', graphInput: false });
    if (this.mode === 'eval') {
      return g.op1('BatchNormalization', [x, gamma, beta, rm, rv], { epsilon: BN_EPS }, name.replace(/\./g, '_'));
    }
    const [y, , mean, varB] = g.op('BatchNormTrain', [x, gamma, beta], { epsilon: BN_EPS }, name.replace(/\./g, '_'));
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
    const hw = (x.shape[2] as number) * (x.shape[3] as number);
    if (typeof x.shape[0] === 'number') return g.f32(x.shape[0] * hw);
    const n = g.op1('Gather', [g.op1('Shape', [x]), g.i64([0], true)], { axis: 0 });
    return g.op1('Mul', [g.op1('Cast', [n], { to: 1 }), g.f32(hw)]);
  }

  relu(x: Value): Value {
    return this.g.op1('Relu', [x]);
  }

  maxPool(x: Value): Value {
    return this.g.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] })[0];
  }

  /** nn.Upsample(scale_factor=2, mode='nearest'). */
  upsample(x: Value): Value {
    const y = this.g.op1('Resize', [x, null, this.g.f32([1, 1, 2, 2])], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
    this.upsampled.add(y.name);
    return y;
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
    return g.input('image', [BATCH, 3, size, size]);
  }
}
