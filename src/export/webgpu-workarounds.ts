/**
 * Two defects of onnxruntime's WebGPU provider (1.30, onnxruntime-web's and Node's builds run the
 * same kernels) that the page's graphs avoid, each by a rewrite that keeps the function:
 *
 * - MaxPool with its Indices output is refused ("The Indices output is not supported yet"). melseg's
 *   MaxPool always declares it (the gradient's MaxUnpool reads it); where nothing reads it (an
 *   exported model; a train step whose MaxPool gradient became comparisons) the node declares Y alone.
 * - A Conv whose kernel covers its whole input (H = kH, W = kW) with end padding computes wrong
 *   values: a 2 x 2 kernel on a 2 x 2 input with pads [0,0,1,1] was off by up to 3.1 against
 *   onnxruntime-node (SwiftShader, headless Chromium 156; 4 x 4 and larger inputs, and begin-only
 *   pads, agree to 2e-6). It seems to take the kernel-equals-input shortcut, a matrix product, without
 *   the end padding. Melseg's sub-pixel up-convolutions meet it at a 2 x 2 bottleneck (32 px UNet).
 *   The padding then moves into an explicit Pad in front: same zeros, same sums.
 *
 * They belong with the `webgpu` target's passes (src/passes) once those run these rewrites too.
 */
import type { Graph, Value } from '../onnx/graph';

/** Drops the unread Indices output of every MaxPool in `g`; returns how many it dropped. */
export function dropUnreadPoolIndices(g: Graph): number {
  const read = new Set<string>(g.outputs.map((o) => o.name));
  for (const n of g.nodes) for (const x of n.inputs) if (x) read.add(x);
  let dropped = 0;
  for (const n of g.nodes) {
    if (n.op === 'MaxPool' && n.outputs.length === 2 && !read.has(n.outputs[1])) {
      n.outputs = [n.outputs[0]];
      dropped++;
    }
  }
  return dropped;
}

/**
 * Every Conv whose kernel covers its whole input with end padding gets one more row and column of
 * begin padding, and the output row and column that adds are sliced off: the same values, and the
 * provider no longer takes its shortcut. (An explicit Pad in front would not stay: onnxruntime's
 * PadFusion puts it back into the Conv at every optimisation level but 'disabled'.) Returns how many.
 */
export function padWholeInputConvs(g: Graph): number {
  let moved = 0;
  g.rewrite((n) => {
    if (n.op !== 'Conv') return undefined;
    const pads = (n.attrs.pads as number[] | undefined) ?? [0, 0, 0, 0];
    const k = n.attrs.kernel_shape as number[] | undefined;
    const x = g.value(n.inputs[0]);
    if (!k || (pads[2] === 0 && pads[3] === 0) || x.shape[2] !== k[0] || x.shape[3] !== k[1]) return undefined;
    const strides = (n.attrs.strides as number[] | undefined) ?? [1, 1];
    if (strides.some((s) => s !== 1)) return undefined;
    moved++;
    const wider = g.op1('Conv', n.inputs.map((i) => (i ? g.value(i) : null)), { ...n.attrs, pads: [pads[0] + 1, pads[1] + 1, pads[2], pads[3]] }, 'whole_conv');
    return [g.op1('Slice', [wider, g.i64([1, 1]), g.i64([2 ** 62, 2 ** 62]), g.i64([2, 3])], {}, 'whole_conv_crop')];
  });
  return moved;
}

/** Both, in place: what a graph the page may run on WebGPU goes through last. */
export function forWebgpu(g: Graph): Graph {
  dropUnreadPoolIndices(g);
  padWholeInputConvs(g);
  return g;
}
