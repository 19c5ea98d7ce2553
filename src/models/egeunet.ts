/**
 * EGE-UNet (Ruan et al., MICCAI 2023), written from the paper's description; its parameters carry
 * the names of the paper's code (github JCruan519/EGE-UNet, models/egeunet.py), so its state_dict
 * loads as a melseg checkpoint and back. Width 1 is the paper's c_list 8, 16, 24, 32, 48, 64.
 *
 * Encoder: three 3x3 convs, then three GHPA blocks; each stage GroupNorm(4), MaxPool 2x2 (not the
 * last), GELU. Decoder: three GHPA blocks and two 3x3 convs, each GroupNorm(4), a bilinear x2
 * (align_corners; not the first), GELU, plus the skip that the group aggregation bridge (GAB) makes
 * from the deeper skip, this stage's skip and a one-channel mask predicted from the stage's output
 * (gt_conv). The paper trains those five masks with deep supervision; melseg's loss table takes one
 * output, so here they only feed the bridges (the layers and names are the paper's, the loss is
 * on the final output only).
 */
import type { Value } from '../onnx/graph';
import { type ModelBuilder, side } from './builder';

/** The paper's channels at width 1. */
const C_LIST = [8, 16, 24, 32, 48, 64];
/** GHPA's learnable maps: 8 x 8 (xy), 8 long (zx, zy), interpolated to each stage's size. */
const PARAM_SIZE = 8;
/** The bridge's four dilations, one per channel group. */
const DILATIONS = [1, 2, 5, 7];

/**
 * EGE-UNet's channels for a channel base (round(64 width)): c_list x width, rounded to a multiple of 4
 * and at least 4 (GroupNorm(4), GHPA and the bridge split the channels in 4), so width 1 is the
 * paper's and every width builds (width 1/16: 4 channels everywhere).
 */
export function egeChannels(base: number): number[] {
  return C_LIST.map((v) => Math.max(4, 4 * Math.round((v * base) / 256)));
}

/**
 * Grouped multi-axis Hadamard product attention (GHPA), dim_in -> dim_out: LayerNorm, four channel
 * groups of c = dim_in/4: x1 * f(P_xy) (an 8 x 8 map resized to H x W), x2 * f(P_zx) (per channel
 * and row), x3 * f(P_zy) (per channel and column), each f = depthwise conv, GELU, 1x1 conv; x4
 * through 1x1 conv, GELU, depthwise 3x3. Concatenated, LayerNorm, depthwise 3x3, GELU, 1x1 to dim_out.
 */
function ghpa(mb: ModelBuilder, name: string, x: Value, dimIn: number, dimOut: number): Value {
  const g = mb.g;
  const c = dimIn / 4;
  const H = side(x);
  const W = Number(x.shape[3]);
  const [x1, x2, x3, x4] = g.op('Split', [mb.layerNorm(`${name}.norm1`, x, dimIn), g.i64([c, c, c, c])], { axis: 1 });
  // f(P) = Sequential(depthwise conv, GELU, 1x1 conv): Conv2d for the xy map, Conv1d along the rows
  // (zx: P as [1, c, H, 1]) or the columns (zy: [1, c, 1, W]), with the weights' Conv1d shapes
  const f = (sub: string, v: Value, axis?: 'h' | 'w'): Value => {
    const [dwName, pwName] = [`${name}.${sub}.0`, `${name}.${sub}.2`];
    if (!axis) return mb.conv(pwName, mb.gelu(mb.conv(dwName, v, c, c, { k: 3, pad: 1, groups: c })), c, c, { k: 1, pad: 0 });
    return mb.conv1d(pwName, mb.gelu(mb.conv1d(dwName, v, c, c, { k: 3, groups: c, axis })), c, c, { k: 1, axis });
  };
  const param = (p: string, shape: number[]) => mb.param({ name: `${name}.${p}`, shape, trainable: true, init: 'ones' });

  const pxy = param('params_xy', [1, c, PARAM_SIZE, PARAM_SIZE]);
  const y1 = g.op1('Mul', [x1, f('conv_xy', mb.resizeBilinear(pxy, [H, W]))]);
  // params_zx [1, 1, c, 8] resized over its last axis to H: one weight per (channel, row)
  const zx = g.op1('Reshape', [mb.resizeBilinear(param('params_zx', [1, 1, c, PARAM_SIZE]), [c, H]), g.i64([1, c, H, 1])]);
  const y2 = g.op1('Mul', [x2, f('conv_zx', zx, 'h')]);
  // params_zy likewise over the columns: one weight per (channel, column)
  const zy = g.op1('Reshape', [mb.resizeBilinear(param('params_zy', [1, 1, c, PARAM_SIZE]), [c, W]), g.i64([1, c, 1, W])]);
  const y3 = g.op1('Mul', [x3, f('conv_zy', zy, 'w')]);

  const y4 = mb.conv(`${name}.dw.2`, mb.gelu(mb.conv(`${name}.dw.0`, x4, c, c, { k: 1, pad: 0 })), c, c, { k: 3, pad: 1, groups: c });

  const cat = mb.layerNorm(`${name}.norm2`, g.op1('Concat', [y1, y2, y3, y4], { axis: 1 }), dimIn);
  const ldw = mb.gelu(mb.conv(`${name}.ldw.0`, cat, dimIn, dimIn, { k: 3, pad: 1, groups: dimIn }));
  return mb.conv(`${name}.ldw.2`, ldw, dimIn, dimOut, { k: 1, pad: 0 });
}

/**
 * Group aggregation bridge: the deeper skip xh (1x1 to dim_xl, resized to xl's size), xh and xl
 * each split in 4, group i = [xh_i, xl_i, mask] through LayerNorm and a depthwise 3x3 dilated by
 * DILATIONS[i]; the four concatenated, LayerNorm, 1x1 to dim_xl.
 */
function gab(mb: ModelBuilder, name: string, xh: Value, xl: Value, mask: Value, dimXh: number, dimXl: number): Value {
  const g = mb.g;
  const q = dimXl / 4;
  const gs = dimXl / 2 + 1;
  const h = mb.resizeBilinear(mb.conv(`${name}.pre_project`, xh, dimXh, dimXl, { k: 1, pad: 0 }), [side(xl), Number(xl.shape[3])]);
  const split = (v: Value) => g.op('Split', [v, g.i64([q, q, q, q])], { axis: 1 });
  const [hs, ls] = [split(h), split(xl)];
  const groups = DILATIONS.map((d, i) => {
    const cat = g.op1('Concat', [hs[i], ls[i], mask], { axis: 1 });
    return mb.conv(`${name}.g${i}.1`, mb.layerNorm(`${name}.g${i}.0`, cat, gs), gs, gs, { k: 3, pad: d, dilation: d, groups: gs });
  });
  const tail = mb.layerNorm(`${name}.tail_conv.0`, g.op1('Concat', groups, { axis: 1 }), 4 * gs);
  return mb.conv(`${name}.tail_conv.1`, tail, 4 * gs, dimXl, { k: 1, pad: 0 });
}

export function buildEgeUNet(mb: ModelBuilder, image: Value, base: number): Value {
  const g = mb.g;
  const c = egeChannels(base);
  const up2 = (v: Value) => mb.resizeBilinear(v, [2 * side(v), 2 * Number(v.shape[3])]);
  const conv3 = (name: string, v: Value, a: number, b: number) => mb.conv(name, v, a, b, { k: 3, pad: 1 });

  // encoder: t1..t5 at 1/2 .. 1/32, t6 at 1/32
  const enc = (k: number, v: Value): Value => {
    const name = `encoder${k + 1}.0`;
    const y = k < 3 ? conv3(name, v, k === 0 ? 3 : c[k - 1], c[k]) : ghpa(mb, name, v, c[k - 1], c[k]);
    return y;
  };
  const ts: Value[] = [];
  let out = image;
  for (let k = 0; k < 5; k++) {
    out = mb.gelu(mb.maxPool(mb.groupNorm(`ebn${k + 1}`, enc(k, out), 4, c[k])));
    ts.push(out);
  }
  out = mb.gelu(enc(5, out));
  let deeper = out; // t6, then each bridge's output feeds the next bridge as its deeper skip

  // decoder stage k (1..5): decoder_k maps c[6-k] -> c[5-k]
  for (let k = 1; k <= 5; k++) {
    const [cin, cout] = [c[6 - k], c[5 - k]];
    const dec = k <= 3 ? ghpa(mb, `decoder${k}.0`, out, cin, cout) : conv3(`decoder${k}.0`, out, cin, cout);
    const normed = mb.groupNorm(`dbn${k}`, dec, 4, cout);
    const y = mb.gelu(k === 1 ? normed : up2(normed));
    const mask = mb.conv(`gt_conv${k}.0`, y, cout, 1, { k: 1, pad: 0 });
    const skip = gab(mb, `GAB${6 - k}`, deeper, ts[5 - k], mask, cin, cout);
    deeper = skip;
    out = g.op1('Add', [y, skip]);
  }
  // `final`, then bilinear x2 to the image's size; the sigmoid is the loss's / probability head's
  return up2(mb.conv('final', out, c[0], 1, { k: 1, pad: 0 }));
}
