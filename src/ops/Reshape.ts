import type { Shape as S } from '../onnx/graph';
import type { OpDef } from './types';
import { shapeOperand } from './Shape';
import { broadcast, reshapeTarget, unbroadcast } from './shapes';

/** Resolve ONNX Reshape's 0 (copy) and -1 (infer) against the input shape. */
export function resolveReshape(inShape: S, target: S): S {
  const out: S = target.map((d, i) => (d === 0 ? inShape[i] : d));
  const neg = out.indexOf(-1);
  if (neg >= 0) {
    // -1 = numel(in) / numel(known part); symbolic dims cancel when both sides hold the same one.
    const num = [...inShape];
    const den = out.filter((_, i) => i !== neg);
    let n = 1;
    let d = 1;
    const sym: string[] = [];
    // A symbolic dim may be a product 'N*k' (from an earlier -1): a symbol times a number.
    for (const x of num) {
      if (typeof x === 'number') n *= x;
      else {
        const m = /^(.+)\*(\d+)$/.exec(x);
        if (m) {
          sym.push(m[1]);
          n *= Number(m[2]);
        } else sym.push(x);
      }
    }
    for (const x of den) {
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
  }
  return out;
}

// d reshape(x) = reshape(dy, shape(x)) (a constant target where possible: see reshapeTarget)
export const Reshape: OpDef = {
  shape: ([x, shape], _attrs, g) => {
    const t = shapeOperand(shape!, g);
    if (!t) throw new Error('the shape operand must be a constant or Shape(x)');
    return [{ shape: resolveReshape(x!.shape, t), dtype: x!.dtype }];
  },
  grad: ({ g, inputs: [x], dOut: [dy] }) => [g.op1('Reshape', [dy!, reshapeTarget(g, x!)]), null],
};

export const Expand: OpDef = {
  shape: ([x, shape], _attrs, g) => {
    const t = shapeOperand(shape!, g);
    if (!t) throw new Error('the shape operand must be a constant or Shape(x)');
    return [{ shape: broadcast(x!.shape, t), dtype: x!.dtype }];
  },
  grad: ({ g, inputs: [x], dOut: [dy] }) => [unbroadcast(g, dy!, x!.shape), null],
};
