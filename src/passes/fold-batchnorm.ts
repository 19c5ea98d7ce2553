/**
 * Rewrite (exported models only): an eval-mode BatchNormalization of a Conv's output, both with
 * constant parameters, as one Conv with folded weights (onnxscript's fuse_batchnorm):
 *   BN(conv(x, w) + b) = s (conv(x, w) + b - mean) + beta,   s = gamma / sqrt(var + eps)
 *                      = conv(x, s w) + s (b - mean) + beta
 * per output channel o: w'[o] = s[o] w[o], b'[o] = s[o] (b[o] - mean[o]) + beta[o] (b = 0 for a
 * Conv without bias). s, w' and b' are computed in float64 and rounded once to float32, so each
 * folded weight carries one rounding (relative 2^-24) where the two ops rounded after the conv and
 * again after the scale. Only graphs whose weights are constants (melseg export) can match: the
 * training and evaluation graphs take their parameters as inputs.
 */
import type { Graph, Node, TensorData, Value } from '../onnx/graph';
import { type Conv2dAttrs } from '../ops/conv-attrs';
import { operands, rewritePass, tryConvAttrs, type Pass, type RewriteRule } from './pass';

interface Match {
  conv: Node;
  a: Conv2dAttrs;
  x: Value;
  w: TensorData;
  b: TensorData | null;
  gamma: TensorData;
  beta: TensorData;
  mean: TensorData;
  variance: TensorData;
  eps: number;
}

/** How many node inputs and graph outputs read each value. */
function useCounts(g: Graph): Map<string, number> {
  const uses = new Map<string, number>();
  const use = (name: string) => uses.set(name, (uses.get(name) ?? 0) + 1);
  for (const n of g.nodes) for (const x of n.inputs) if (x) use(x);
  for (const o of g.outputs) use(o.name);
  return uses;
}

const floats = (g: Graph, v: Value | null): TensorData | undefined => {
  const t = v ? g.constValue(v) : undefined;
  return t && t.dtype === 'float32' ? t : undefined;
};

function rule(uses: Map<string, number>): RewriteRule<Match> {
  return {
    name: 'fold-batchnorm',
    pattern: (g, n) => {
      if (n.op !== 'BatchNormalization') return undefined;
      const conv = g.producerOf(n.inputs[0]);
      if (!conv || conv.op !== 'Conv') return undefined;
      const [x, wv, bv] = operands(g, conv);
      const [, gv, betav, mv, vv] = operands(g, n);
      const a = wv ? tryConvAttrs(wv, conv.attrs) : undefined;
      const [w, gamma, beta, mean, variance] = [floats(g, wv), floats(g, gv), floats(g, betav), floats(g, mv), floats(g, vv)];
      if (!x || !a || !w || !gamma || !beta || !mean || !variance) return undefined;
      const b = bv ? floats(g, bv) : null;
      if (b === undefined) return undefined;
      const eps = typeof n.attrs.epsilon === 'number' ? n.attrs.epsilon : 1e-5;
      return { conv, a, x, w, b, gamma, beta, mean, variance, eps };
    },
    // The conv's output feeds only this BN (otherwise the unfolded conv would still be needed),
    // and every per-channel vector has one entry per output channel.
    check: (_g, m) => {
      const O = m.w.shape[0];
      return uses.get(m.conv.outputs[0]) === 1 && [m.gamma, m.beta, m.mean, m.variance, ...(m.b ? [m.b] : [])].every((t) => t.data.length === O);
    },
    replacement: (g, m) => {
      const O = m.w.shape[0];
      const per = m.w.data.length / O;
      const w = m.w.data as Float32Array;
      const folded = new Float32Array(w.length);
      const bias = new Float32Array(O);
      for (let o = 0; o < O; o++) {
        const s = (m.gamma.data[o] as number) / Math.sqrt((m.variance.data[o] as number) + m.eps);
        for (let k = o * per; k < (o + 1) * per; k++) folded[k] = w[k] * s;
        bias[o] = s * ((m.b ? (m.b.data[o] as number) : 0) - (m.mean.data[o] as number)) + (m.beta.data[o] as number);
      }
      const wv = g.constant({ dtype: 'float32', shape: [...m.w.shape], data: folded }, 'folded_w');
      const bv = g.constant({ dtype: 'float32', shape: [O], data: bias }, 'folded_b');
      return [g.op1('Conv', [m.x, wv, bv], m.conv.attrs, 'conv_bn')];
    },
  };
}

/** The pass: uses are counted on the whole graph first (a rewrite sees only the nodes before it). */
export const foldBatchNormPass: Pass = {
  name: 'fold-batchnorm',
  run: (g) => rewritePass(rule(useCounts(g))).run(g),
};
