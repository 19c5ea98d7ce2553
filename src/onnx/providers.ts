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
import type { Node } from './graph';
import type { Device } from './session';

/** Every op type the default graphs may contain, looked up in both providers' registrations. */
const CHECKED_OPS: ReadonlySet<string> = new Set([
  'Add', 'AveragePool', 'BatchNormalization', 'Cast', 'Clip', 'Concat', 'Conv', 'ConvTranspose', 'DepthToSpace', 'Div', 'Expand',
  'Gather', 'Gemm', 'Greater', 'Less', 'MatMul', 'MaxPool', 'MaxUnpool', 'Mul', 'Neg', 'Pad', 'Pow', 'Reciprocal', 'ReduceMax',
  'ReduceMean', 'ReduceProd', 'ReduceSum', 'Relu', 'Reshape', 'Resize', 'Shape', 'Sigmoid', 'Slice', 'Softplus', 'SpaceToDepth',
  'Split', 'Sqrt', 'Sub', 'Transpose', 'Unsqueeze', 'Where',
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
 * Node forms a provider registers a kernel for but refuses when the session runs them: the kernel
 * lists cannot show these, running the graphs did (onnxruntime-node 1.30's WebGPU provider on Mesa's
 * lavapipe, test/onnx/webgpu-parity.test.ts). A pipeline must not emit them for that provider.
 * CUDA's MaxPool computes Indices (its MaxPoolWithIndex kernel), so nothing is listed for it; no
 * CUDA machine has run melseg's graphs yet (README "GPU").
 */
const REFUSED_AT_RUN: Readonly<Record<Exclude<Device, 'cpu'>, readonly { op: string; output: number; what: string }[]>> = {
  cuda: [],
  webgpu: [{ op: 'MaxPool', output: 1, what: "MaxPool's Indices output (pool.cc: \"The Indices output is not supported yet\")" }],
};

/** The nodes of `nodes` that `device` would refuse at run time, each as "node name: what". */
export function refusedAtRun(device: Device, nodes: readonly Pick<Node, 'op' | 'domain' | 'outputs' | 'name'>[]): string[] {
  if (device === 'cpu') return [];
  return nodes.flatMap((n) =>
    REFUSED_AT_RUN[device].filter((r) => !n.domain && n.op === r.op && !!n.outputs[r.output]).map((r) => `${n.name}: ${r.what}`),
  );
}
