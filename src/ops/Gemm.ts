import type { Graph, Value } from '../onnx/graph';
import { int, op } from './types';
import { broadcast, unbroadcast } from './shapes';

/** Gemm appears only inside gradient rules (weight gradients): shape rule only. */
export const Gemm = op<[a: Value, b: Value, c: Value | null]>({
  inputs: ['A', 'B', 'C?'],
  shape: ([a, b], attrs) => {
    const m = int(attrs, 'transA', 0) ? a.shape[1] : a.shape[0];
    const n = int(attrs, 'transB', 0) ? b.shape[0] : b.shape[1];
    return [{ shape: [m, n], dtype: a.dtype }];
  },
});

/** Swap the last two axes. */
function transposeLast(g: Graph, v: Value): Value {
  const r = v.shape.length;
  if (r < 2) throw new Error(`MatMul: operand of rank ${r}: expected at least 2 (melseg does not differentiate vector products)`);
  return g.op1('Transpose', [v], { perm: [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2] });
}

// Y = A @ B with batch broadcasting: dA = dY @ B^T, dB = A^T @ dY, each summed back over the batch
// axes its operand was broadcast along.
export const MatMul = op<[a: Value, b: Value]>({
  inputs: ['A', 'B'],
  shape: ([a, b]) => {
    const [as, bs] = [a.shape, b.shape];
    if (as.length < 2 || bs.length < 2) throw new Error(`operands of rank ${as.length} and ${bs.length}: expected at least 2`);
    const [ka, kb] = [as[as.length - 1], bs[bs.length - 2]];
    // a symbolic dim against a number ('N*25' and 75 when the batch is fixed on one side) can only be valid if equal at run time
    if (ka !== kb && typeof ka === typeof kb) throw new Error(`inner dimensions ${ka} and ${kb} differ`);
    const batch = broadcast(as.slice(0, -2), bs.slice(0, -2));
    return [{ shape: [...batch, as[as.length - 2], bs[bs.length - 1]], dtype: a.dtype }];
  },
  grad: ({ g, inputs: [a, b], dy }) => [
    unbroadcast(g, g.op1('MatMul', [dy, transposeLast(g, b)]), a.shape),
    unbroadcast(g, g.op1('MatMul', [transposeLast(g, a), dy]), b.shape),
  ],
});
