/**
 * Weight gradient of a stride-1 convolution without im2col:
 *   dW[o,c,a,b] = sum_{n,i,j} dy[n,o,i,j] * xp[n,c, i + a*dh, j + b*dw]          (xp = padded x)
 * Substituting r = i + a*dh (a row of xp): with D_a = dy shifted down by a*dh rows (zero-padded to the
 * R = Ho + (kh-1)dh rows of xp) and X_b = the Wo columns of xp starting at b*dw,
 *   dW[o,c,a,b] = sum_{n,r,j} D_a[n,o,r,j] * X_b[n,c,r,j],
 * so ONE matrix product of the D_a stacked ([O*kh, K], rows (o, a)) with the X_b stacked
 * ([K, C*kw], columns (c, b)) yields all kh*kw taps at once. It materialises kh shifted copies of
 * dy and kw of x (3 + 3 for a 3x3 kernel) instead of im2col's kh*kw = 9 copies of x, and the product
 * is one well-shaped GEMM. The price: K runs over R rows instead of Ho, R/Ho - 1 extra (zero) work,
 * 2/H for a padded 3x3.
 *
 * Layouts: 'batched' keeps NCHW: one MatMul per image ([kh*O, R*Wo] x [R*Wo, kw*C]) and a sum over
 * the batch, no transposes; 'channels' transposes x and dy to [C, N, ...] first so the contraction
 * also runs over the batch (one Gemm): better when an image is small (K per image short).
 */
import type { Graph, Value } from '../onnx/graph';
import type { Conv2dAttrs } from './conv-attrs';
import { spatial, staticShape } from './shapes';

export type WeightGradLayout = 'batched' | 'channels';

/** Whether the shifted-copies formulation applies (stride 1), and its wasted-work factor R/Ho. */
export function shiftedGradCost(a: Conv2dAttrs, outH: number): number | undefined {
  if (a.s[0] !== 1 || a.s[1] !== 1) return undefined;
  return (outH + a.d[0] * (a.k[0] - 1)) / outH;
}

/**
 * The layout melseg picks: per-image products when one image gives a long contraction (bench:ops
 * conv-dw: 1.3-2x faster than im2col at 256x256 and 128x128), else one channel-major product (the
 * per-image [kh*O, kw*C] outputs would outweigh the inputs).
 */
export function defaultWeightGradLayout(rows: number, outW: number): WeightGradLayout {
  return rows * outW >= 2048 ? 'batched' : 'channels';
}

export type XCopies = 'stack' | 'split' | 'split-all';

/**
 * Which copies are stacked, by default: in the channel-major layout (small images) both sides, for
 * one wide GEMM; in the per-image layout (large images, where these copies are the step's peak
 * memory) the x copies are split ('split': kw products, as fast, bench:ops conv-dw), and where one
 * image's dy stack would pass 32 MiB the dy copies too ('split-all': kh*kw products, ~10% slower on
 * those layers, 88 MiB less peak RSS for UNet at 256 px, width 1, batch 2).
 */
function defaultXCopies(layout: WeightGradLayout, O: number, kh: number, R: number, Wo: number): XCopies {
  if (layout === 'channels') return 'stack';
  return O * kh * R * Wo * 4 >= 32 * 2 ** 20 ? 'split-all' : 'split';
}

/** The shifted copies of dy and x for one layer, and the products that contract them. */
interface Shifted {
  O: number;
  C: number;
  kh: number;
  kw: number;
  /** the kh copies of dy, D_a */
  dShift: Value[];
  /** the copy X_b of x, made on demand */
  xShift(kb: number): Value;
  /** sum over (n, r, j) of A [.., rowsA, R, Wo] times B [.., rowsB, R, Wo]: [rowsA, rowsB] */
  product(A: Value, B: Value, rowsA: number, rowsB: number): Value;
  /** copies stacked along the channel axis */
  stack(vs: Value[]): Value;
}

function shiftedCopies(g: Graph, x: Value, dy: Value, w: Value, a: Conv2dAttrs, layout: WeightGradLayout): Shifted & { R: number; Wo: number } {
  const [O, C, kh, kw] = staticShape(w, 'Conv');
  const [dh, dw] = a.d;
  const [pt, pl, pb] = a.pads;
  const [H, W] = spatial(x, 'Conv');
  const [Ho, Wo] = spatial(dy, 'Conv');
  const R = Ho + dh * (kh - 1);
  if (R !== H + pt + pb) throw new Error(`Conv weight gradient: padded rows ${H + pt + pb} != Ho + dh(kh-1) = ${R} (stride 1 expected)`);
  // 'channels': [C, N, H, W] so that a Concat on axis 0 stacks channels and (n, r, j) is contiguous.
  const chan = layout === 'channels';
  const xs = chan ? g.op1('Transpose', [x], { perm: [1, 0, 2, 3] }) : x;
  const dys = chan ? g.op1('Transpose', [dy], { perm: [1, 0, 2, 3] }) : dy;
  const pad4 = (t: number, l: number, b: number, r: number) => g.i64([0, 0, t, l, 0, 0, b, r]);
  const dShift: Value[] = [];
  for (let ka = 0; ka < kh; ka++) {
    const top = ka * dh;
    dShift.push(top === 0 && R === Ho ? dys : g.op1('Pad', [dys, pad4(top, 0, R - Ho - top, 0)], { mode: 'constant' }));
  }
  // x copy b: columns [b*dw - pl, b*dw - pl + Wo) of x (a negative pad crops); made on demand so that
  // in the split form each copy is emitted right before its product and freed after it.
  const xShift = (kb: number): Value => {
    const left = pl - kb * dw;
    const right = Wo - W - left;
    return pt === 0 && pb === 0 && left === 0 && right === 0 ? xs : g.op1('Pad', [xs, pad4(pt, left, pb, right)], { mode: 'constant' });
  };
  const axis = chan ? 1 : 2;
  const stack = (vs: Value[]) => (vs.length === 1 ? vs[0] : g.op1('Concat', vs.map((v) => g.op1('Unsqueeze', [v, g.i64([axis])])), { axis }));
  const product = (A: Value, B: Value, rowsA: number, rowsB: number): Value => {
    if (chan) return g.op1('Gemm', [g.op1('Reshape', [A, g.i64([rowsA, -1])]), g.op1('Reshape', [B, g.i64([rowsB, -1])])], { transB: 1 });
    const per = g.op1('MatMul', [g.op1('Reshape', [A, g.i64([0, rowsA, -1])]), g.op1('Transpose', [g.op1('Reshape', [B, g.i64([0, rowsB, -1])])], { perm: [0, 2, 1] })]);
    return g.op1('ReduceSum', [per, g.i64([0])], { keepdims: 0 });
  };
  return { O, C, kh, kw, R, Wo, dShift, xShift, product, stack };
}

/**
 * Stack the dy copies channel-major, rows (o, a): [O*kh, K]. The x copies are either stacked too,
 * columns (c, b), for ONE product ('stack'), or each multiplied on its own ('split': kw products of
 * N = C, no stacked copy of x, each copy freed after its product: less peak memory), or no copies
 * are stacked at all ('split-all').
 */
export function shiftedWeightGrad(g: Graph, x: Value, dy: Value, w: Value, a: Conv2dAttrs, layout: WeightGradLayout, xStack?: XCopies): Value {
  const s = shiftedCopies(g, x, dy, w, a, layout);
  const { O, C, kh, kw } = s;
  const copies = xStack ?? defaultXCopies(layout, O, kh, s.R, s.Wo);
  if (copies === 'split-all') return tapByTapWeightGrad(g, s);
  const taps = Array.from({ length: kw }, (_, kb) => kb);
  const A = s.stack(s.dShift);
  let prod: Value;
  if (copies === 'stack' || kw === 1) prod = s.product(A, s.stack(taps.map(s.xShift)), O * kh, C * kw);
  else prod = g.op1('Concat', taps.map((kb) => g.op1('Unsqueeze', [s.product(A, s.xShift(kb), O * kh, C), g.i64([2])])), { axis: 2 });
  // prod [O*kh, C*kw] = [O, kh, C, kw] -> dW [O, C, kh, kw], moving whole kw-tap rows
  const blocks = g.op1('Reshape', [prod, g.i64([O, kh, C, kw])]);
  return kh === 1 ? g.op1('Reshape', [blocks, g.i64([O, C, kh, kw])], {}, 'dw') : g.op1('Transpose', [blocks], { perm: [0, 2, 1, 3] }, 'dw');
}

/** Every (a, b) tap its own [O, C] product: no stacked copy on either side (least memory). */
function tapByTapWeightGrad(g: Graph, s: Shifted): Value {
  const { O, C, kh, kw } = s;
  const cols = Array.from({ length: kw }, (_, kb) => {
    const xb = s.xShift(kb);
    const rowsOf = s.dShift.map((da) => g.op1('Unsqueeze', [s.product(da, xb, O, C), g.i64([1])]));
    return g.op1('Unsqueeze', [rowsOf.length === 1 ? rowsOf[0] : g.op1('Concat', rowsOf, { axis: 1 }), g.i64([3])]);
  });
  const prodAll = cols.length === 1 ? cols[0] : g.op1('Concat', cols, { axis: 3 });
  return g.op1('Transpose', [g.op1('Reshape', [prodAll, g.i64([O, kh, C, kw])])], { perm: [0, 2, 1, 3] }, 'dw');
}

/** 1x1, stride 1, no padding: dW[o,c] = sum_{n,p} dy[n,o,p] x[n,c,p]: no shifted copies at all. */
export function pointwiseWeightGrad(g: Graph, x: Value, dy: Value, w: Value, layout: WeightGradLayout): Value {
  const [O, C] = staticShape(w, 'Conv');
  let dw2: Value;
  if (layout === 'channels') {
    const x2 = g.op1('Reshape', [g.op1('Transpose', [x], { perm: [1, 0, 2, 3] }), g.i64([C, -1])]);
    const dy2 = g.op1('Reshape', [g.op1('Transpose', [dy], { perm: [1, 0, 2, 3] }), g.i64([O, -1])]);
    dw2 = g.op1('Gemm', [dy2, x2], { transB: 1 });
  } else {
    const x3 = g.op1('Reshape', [x, g.i64([0, C, -1])]);
    const dy3 = g.op1('Reshape', [dy, g.i64([0, O, -1])]);
    const per = g.op1('MatMul', [dy3, g.op1('Transpose', [x3], { perm: [0, 2, 1] })]);
    dw2 = g.op1('ReduceSum', [per, g.i64([0])], { keepdims: 0 });
  }
  return g.op1('Reshape', [dw2, g.i64([O, C, 1, 1])], {}, 'dw');
}

