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
