/**
 * Which of the ONNX ops melseg's graphs use (ai.onnx, float32, opset 17) onnxruntime's GPU execution
 * providers implement, from onnxruntime's kernel registrations:
 *   cuda:   docs/OperatorKernels.md, "Operators implemented by CUDAExecutionProvider" (commit 001d12d)
 *   webgpu: onnxruntime/core/providers/webgpu/webgpu_execution_provider.cc (commit e1f4020)
 * An op a provider lacks still runs: onnxruntime assigns that node to the CPU provider (melseg always
 * lists 'cpu' second) and copies its tensors across, which costs time on every step.
 * Opset 17 is the last version several registrations cover (Pad, Resize, Split: [13, 17]; ReduceMax,
 * ReduceMean, ReduceProd: [13, 17] on WebGPU, [1, 17] on CUDA): re-check this table before moving on.
 */
import type { Graph, Node } from './graph';
import type { Device } from './session';

/** Every op type the default graphs may contain, looked up in both providers' registrations. */
const CHECKED_OPS: ReadonlySet<string> = new Set([
  'Add', 'AveragePool', 'BatchNormalization', 'Cast', 'Clip', 'Concat', 'Conv', 'ConvTranspose', 'DepthToSpace', 'Div', 'Erf', 'Exp', 'Expand',
  'Gather', 'Gemm', 'Greater', 'Less', 'MatMul', 'MaxPool', 'MaxUnpool', 'Mul', 'Neg', 'Pad', 'Pow', 'Reciprocal', 'ReduceMax',
  'ReduceMean', 'ReduceProd', 'ReduceSum', 'Relu', 'Reshape', 'Resize', 'Shape', 'Sigmoid', 'Slice', 'Softplus', 'SpaceToDepth',
  'Split', 'Sqrt', 'Squeeze', 'Sub', 'Transpose', 'Unsqueeze', 'Where',
]);

/**
 * The checked ops a GPU provider has no opset-17 kernel for, which its pipeline rewrites
 * (src/graphs/pipeline.ts). MaxUnpool: no CUDA or WebGPU kernel at all. SpaceToDepth: not registered
 * by the WebGPU provider on onnxruntime's main line.
 */
const MISSING_ON: Readonly<Record<Exclude<Device, 'cpu'>, ReadonlySet<string>>> = {
  cuda: new Set(['MaxUnpool']),
  webgpu: new Set(['MaxUnpool', 'SpaceToDepth']),
};

/** The op types of `ops` that `device` would run on the CPU provider, and those nobody checked. */
export function cpuFallbacks(device: Device, ops: Iterable<string>): { fallback: string[]; unchecked: string[] } {
  const all = [...new Set(ops)].sort();
  return {
    fallback: device === 'cpu' ? [] : all.filter((op) => MISSING_ON[device].has(op)),
    unchecked: all.filter((op) => !CHECKED_OPS.has(op)),
  };
}

/**
 * Whether onnxruntime's WebGPU provider runs a 2-D Conv as a MatMul (its nn/conv.cc: the kernel
 * covers the whole input ("same_size"), or 1x1 with stride 1), which it decides by the leading pads
 * alone: trailing pads are then ignored and the result is wrong.
 */
export function webgpuConvAsMatMul(k: readonly number[], s: readonly number[], pads: readonly number[], input: readonly number[]): boolean {
  if (pads[0] !== 0 || pads[1] !== 0) return false;
  return (k[0] === input[0] && k[1] === input[1]) || (k[0] === 1 && k[1] === 1 && s[0] === 1 && s[1] === 1);
}

const attr = (n: Node, key: string, d: number[]) => (n.attrs[key] as number[] | undefined) ?? d;

/**
 * Node forms a provider registers a kernel for but refuses, or computes wrongly, when the session
 * runs them: the kernel lists cannot show these, running the graphs did (onnxruntime-node 1.30's
 * WebGPU provider on Mesa's lavapipe, test/onnx/webgpu-parity.test.ts). A pipeline must not emit
 * them for that provider. CUDA's MaxPool computes Indices (its MaxPoolWithIndex kernel), so nothing
 * is listed for it; no CUDA machine has run melseg's graphs yet (README "GPU").
 */
const REFUSED_AT_RUN: Readonly<Record<Exclude<Device, 'cpu'>, readonly { what: string; hit: (g: Graph, n: Node) => boolean }[]>> = {
  cuda: [],
  webgpu: [
    { what: "MaxPool's Indices output (pool.cc: \"The Indices output is not supported yet\")", hit: (_g, n) => n.op === 'MaxPool' && !!n.outputs[1] },
    {
      what: 'a Conv on the MatMul shortcut with trailing pads (nn/conv.cc ignores them: wrong values)',
      hit: (g, n) => {
        if (n.op !== 'Conv') return false;
        const [x, w] = [g.value(n.inputs[0]), g.value(n.inputs[1])];
        const pads = attr(n, 'pads', [0, 0, 0, 0]);
        const k = attr(n, 'kernel_shape', w.shape.slice(2).map(Number));
        return x.shape.length === 4 && (pads[2] > 0 || pads[3] > 0) && webgpuConvAsMatMul(k, attr(n, 'strides', [1, 1]), pads, x.shape.slice(2).map(Number));
      },
    },
  ],
};

/** The nodes of `g` that `device` would refuse or miscompute at run time, each as "node name: what". */
export function refusedAtRun(device: Device, g: Graph): string[] {
  if (device === 'cpu') return [];
  return g.nodes.flatMap((n) => (n.domain ? [] : REFUSED_AT_RUN[device].filter((r) => r.hit(g, n)).map((r) => `${n.name}: ${r.what}`)));
}
