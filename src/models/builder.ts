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

  /** nn.Conv2d(cin, cout, k, stride, padding, dilation, groups) with bias; weight [cout, cin/groups, k, k]. */
  conv(name: string, x: Value, cin: number, cout: number, o: { k?: number; stride?: number; pad?: number; dilation?: number; groups?: number } = {}): Value {
    const k = o.k ?? 3;
    const groups = o.groups ?? 1;
    const fanIn = (cin / groups) * k * k;
    const w = this.param({ name: `${name}.weight`, shape: [cout, cin / groups, k, k], trainable: true, init: 'uniform', fanIn });
    const b = this.param({ name: `${name}.bias`, shape: [cout], trainable: true, init: 'uniform', fanIn });
    const p = o.pad ?? (k === 3 ? 1 : 0);
    const s = o.stride ?? 1;
    const d = o.dilation ?? 1;
    const attrs = { kernel_shape: [k, k], pads: [p, p, p, p], strides: [s, s], dilations: [d, d], ...(groups > 1 ? { group: groups } : {}) };
    return this.g.op1('Conv', [x, w, b], attrs, hint(name));
  }

  /**
   * nn.Conv1d(cin, cout, k, padding=(k-1)/2, groups) applied along one spatial axis of an NCHW value
   * whose other spatial axis is 1: the weight keeps PyTorch's shape [cout, cin/groups, k] and is
   * reshaped to a k x 1 (axis 'h') or 1 x k (axis 'w') kernel.
   */
  conv1d(name: string, x: Value, cin: number, cout: number, o: { k: number; groups?: number; axis: 'h' | 'w' }): Value {
    const groups = o.groups ?? 1;
    const fanIn = (cin / groups) * o.k;
    const w = this.param({ name: `${name}.weight`, shape: [cout, cin / groups, o.k], trainable: true, init: 'uniform', fanIn });
    const b = this.param({ name: `${name}.bias`, shape: [cout], trainable: true, init: 'uniform', fanIn });
    const kernel = o.axis === 'h' ? [o.k, 1] : [1, o.k];
    const p = (o.k - 1) / 2;
    const pads = o.axis === 'h' ? [p, 0, p, 0] : [0, p, 0, p];
    const w4 = this.g.op1('Reshape', [w, this.g.i64([cout, cin / groups, ...kernel])]);
    return this.g.op1('Conv', [x, w4, b], { kernel_shape: kernel, pads, ...(groups > 1 ? { group: groups } : {}) }, hint(name));
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

  /**
   * M = N*H*W as a float scalar; N is symbolic so it is read at run time, from the image input's
   * shape (a graph input, held anyway): Shape(x) would keep the activation x alive until the
   * running-statistics update reads it, which onnxruntime runs among the step's last nodes.
   */
  private count(x: Value): Value {
    const g = this.g;
    const [N, , H, W] = x.shape;
    if (typeof H !== 'number' || typeof W !== 'number') throw new Error(`model: BatchNorm input [${x.shape}] has a symbolic height or width`);
    if (typeof N === 'number') return g.f32(N * H * W);
    const image = g.values.get(IMAGE);
    const batchOf = image && image.shape[0] === N ? image : x;
    const n = g.op1('Gather', [g.op1('Shape', [batchOf]), g.i64([0], true)], { axis: 0 });
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

  /** nn.GELU(), exact: 0.5 x (1 + erf(x / sqrt 2)) (opset 17 has Erf but no Gelu). */
  gelu(x: Value): Value {
    const g = this.g;
    const phi = g.op1('Add', [g.f32(1), g.op1('Erf', [g.op1('Mul', [x, g.f32(Math.SQRT1_2)])])]);
    return g.op1('Mul', [g.op1('Mul', [x, g.f32(0.5)]), phi]);
  }

  /*
   * LayerNorm and GroupNorm are composed of ReduceMean, Sub, Mul, Add, Sqrt and Div rather than ONNX's
   * LayerNormalization: their gradients then follow from rules the finite-difference cases already
   * check (LayerNormalization would need its own three-output rule and case), channel-wise LayerNorm
   * over NCHW would need two Transposes around LayerNormalization (it normalises trailing axes), and
   * the networks that use them (EGE-UNet) are 8-64 channels wide, where these few elementwise passes
   * are small next to the convolutions.
   */

  /** Normalise over `axes` of `v`: (v - mean) / sqrt(var + eps), var biased (as PyTorch's norms). */
  private normalise(v: Value, axes: number[], eps: number): Value {
    const g = this.g;
    const d = g.op1('Sub', [v, g.op1('ReduceMean', [v], { axes, keepdims: 1 })]);
    const variance = g.op1('ReduceMean', [g.op1('Mul', [d, d])], { axes, keepdims: 1 });
    return g.op1('Div', [d, g.op1('Sqrt', [g.op1('Add', [variance, g.f32(eps)])])]);
  }

  /** weight[c] * x + bias[c] over the channels of an NCHW value; weight 1, bias 0 at first. */
  private affine(name: string, x: Value, c: number): Value {
    const g = this.g;
    const gamma = this.param({ name: `${name}.weight`, shape: [c], trainable: true, init: 'ones' });
    const beta = this.param({ name: `${name}.bias`, shape: [c], trainable: true, init: 'zeros' });
    const col = (v: Value) => g.op1('Reshape', [v, g.i64([c, 1, 1])]);
    return g.op1('Add', [g.op1('Mul', [x, col(gamma)]), col(beta)], {}, hint(name));
  }

  /** ConvNeXt's LayerNorm(c, data_format='channels_first'): normalised over the channels of each pixel. */
  layerNorm(name: string, x: Value, c: number, eps = 1e-6): Value {
    return this.affine(name, this.normalise(x, [1], eps), c);
  }

  /** nn.GroupNorm(groups, c): normalised over each group of c/groups channels and all pixels. */
  groupNorm(name: string, x: Value, groups: number, c: number, eps = 1e-5): Value {
    const g = this.g;
    const [, , H, W] = x.shape;
    if (c % groups !== 0) throw new Error(`model: GroupNorm '${name}': ${c} channels are not a multiple of ${groups} groups`);
    const grouped = g.op1('Reshape', [x, g.i64([0, groups, -1])]);
    const back = g.op1('Reshape', [this.normalise(grouped, [2], eps), g.i64([0, c, Number(H), Number(W)])]);
    return this.affine(name, back, c);
  }

  /**
   * F.interpolate(x, size, mode='bilinear', align_corners=True) as two products with constant
   * interpolation matrices, y = A_h x A_w^T: the resize is linear in x, so its gradient is the two
   * transposed products (MatMul's rule), which also serves a learnable x (EGE-UNet's parameters).
   * An axis whose size does not change is the identity and is skipped.
   */
  resizeBilinear(x: Value, size: [number, number]): Value {
    const g = this.g;
    const r = x.shape.length;
    const [h, w] = [Number(x.shape[r - 2]), Number(x.shape[r - 1])];
    let y = x;
    if (size[0] !== h) y = g.op1('MatMul', [g.f32(alignCornersMatrix(h, size[0]), [size[0], h]), y]);
    if (size[1] !== w) y = g.op1('MatMul', [y, g.f32(transpose(alignCornersMatrix(w, size[1]), size[1], w), [w, size[1]])]);
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

/**
 * The [out, in] matrix of 1-D linear interpolation with align_corners: output i reads input
 * position i (in-1)/(out-1) (0 when out = 1), split between its two neighbours by the fraction.
 */
export function alignCornersMatrix(inSize: number, outSize: number): Float32Array {
  const m = new Float32Array(outSize * inSize);
  const scale = outSize > 1 ? (inSize - 1) / (outSize - 1) : 0;
  for (let i = 0; i < outSize; i++) {
    const src = i * scale;
    const i0 = Math.min(Math.floor(src), inSize - 1);
    const i1 = Math.min(i0 + 1, inSize - 1);
    const f = src - i0;
    m[i * inSize + i0] += 1 - f;
    m[i * inSize + i1] += f;
  }
  return m;
}

function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(m.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = m[i * cols + j];
  return t;
}
