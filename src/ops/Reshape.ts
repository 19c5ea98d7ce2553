import type { Graph, Shape as S, Value } from '../onnx/graph';
import { op } from './types';
import { shapeOperand } from './Shape';
import { broadcast, reshapeTarget, unbroadcast } from './shapes';

/** Resolve ONNX Reshape's 0 (copy) and -1 (infer) against the input shape. */
function resolveReshape(inShape: S, target: S): S {
  const out: S = target.map((d, i) => (d === 0 ? inShape[i] : d));
  const neg = out.indexOf(-1);
  if (neg < 0) return out;
  // -1 = numel(in) / numel(known part); symbolic dims cancel when both sides hold the same one.
  const { n, sym } = splitSymbolic(inShape);
  let d = 1;
  for (const x of out.filter((_, i) => i !== neg)) {
    if (typeof x === 'number') d *= x;
    else {
      const k = sym.indexOf(x);
      if (k < 0) throw new Error(`cannot infer -1: symbolic '${x}' not in input`);
      sym.splice(k, 1);
    }
  }
  if (sym.length > 1) throw new Error(`cannot infer -1 with symbolic dims ${sym}`);
  if (n % d) throw new Error(`cannot reshape [${inShape}] to [${target}]`);
  out[neg] = sym.length ? (n / d === 1 ? sym[0] : `${sym[0]}*${n / d}`) : n / d;
  return out;
}

/**
 * A shape's static element count and its symbolic factors. A symbolic dim may be a product 'N*k'
 * (from an earlier -1): a symbol times a number.
 */
function splitSymbolic(shape: S): { n: number; sym: string[] } {
  let n = 1;
  const sym: string[] = [];
  for (const x of shape) {
    if (typeof x === 'number') {
      n *= x;
      continue;
    }
    const m = /^(.+)\*(\d+)$/.exec(x);
    sym.push(m ? m[1] : x);
    if (m) n *= Number(m[2]);
  }
  return { n, sym };
}

function targetOf(shape: Value, g: Graph): S {
  const t = shapeOperand(shape, g);
  if (!t) throw new Error('the shape operand must be a constant or Shape(x)');
  return t;
}

// d reshape(x) = reshape(dy, shape(x)) (a constant target where possible: see reshapeTarget)
export const Reshape = op<[x: Value, shape: Value]>({
  inputs: ['data', 'shape'],
  shape: ([x, shape], _attrs, g) => [{ shape: resolveReshape(x.shape, targetOf(shape, g)), dtype: x.dtype }],
  grad: ({ g, inputs: [x], dy }) => [g.op1('Reshape', [dy, reshapeTarget(g, x)]), null],
});

export const Expand = op<[x: Value, shape: Value]>({
  inputs: ['input', 'shape'],
  shape: ([x, shape], _attrs, g) => [{ shape: broadcast(x.shape, targetOf(shape, g)), dtype: x.dtype }],
  grad: ({ g, inputs: [x], dy }) => [unbroadcast(g, dy, x.shape), null],
});
