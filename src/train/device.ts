/**
 * Execution providers. 'cpu' is always there; 'webgpu' ships inside onnxruntime-node on Linux but needs
 * a GPU adapter (Vulkan); 'cuda' needs the CUDA provider that onnxruntime-node's install step downloads
 * only when asked (ONNXRUNTIME_NODE_INSTALL=cuda12, see README "GPU").
 */
import * as ort from 'onnxruntime-node';

export type Device = 'cpu' | 'cuda' | 'webgpu';
export const DEVICES: readonly Device[] = ['cpu', 'cuda', 'webgpu'];

export function parseDevice(s: string): Device {
  const d = s.trim().toLowerCase();
  if (!(DEVICES as readonly string[]).includes(d)) throw new Error(`device '${s}': expected one of ${DEVICES.join(', ')}`);
  return d as Device;
}

const HOW_TO: Record<Exclude<Device, 'cpu'>, string> = {
  cuda:
    "the CUDA execution provider is not installed. melseg installs onnxruntime-node without it (its download feed is unreachable offline). " +
    'On a machine with an NVIDIA GPU, CUDA 12 and cuDNN 9, run: ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node ' +
    '(or npm install with --onnxruntime-node-install=cuda12), then retry with --device cuda; or use --device cpu.',
  webgpu:
    'no WebGPU adapter: onnxruntime-node bundles the WebGPU provider on Linux, but it needs a GPU with a Vulkan driver ' +
    '(libvulkan1 and the vendor ICD). Install them, or use --device cpu.',
};

export function sessionOptions(device: Device, extra: ort.InferenceSession.SessionOptions = {}): ort.InferenceSession.SessionOptions {
  const providers: ort.InferenceSession.SessionOptions['executionProviders'] = device === 'cpu' ? ['cpu'] : [device, 'cpu'];
  // Memory patterns off: same speed here, 1.6-1.8x lower peak RSS for training graphs (bench:train).
  return { executionProviders: providers, graphOptimizationLevel: 'all', enableMemPattern: false, ...extra };
}

/** Open a session on `device`, turning provider failures into an error that says how to fix them. */
export async function openSession(model: Uint8Array | string, device: Device, extra: ort.InferenceSession.SessionOptions = {}): Promise<ort.InferenceSession> {
  if (device !== 'cpu') {
    const listed = ort.listSupportedBackends().some((b) => b.name === device);
    if (!listed) throw new Error(`--device ${device}: ${HOW_TO[device]}`);
  }
  try {
    return typeof model === 'string'
      ? await ort.InferenceSession.create(model, sessionOptions(device, extra))
      : await ort.InferenceSession.create(model, sessionOptions(device, extra));
  } catch (e) {
    const msg = (e as Error).message;
    const said = msg.split('\n').map((l) => l.trim()).filter(Boolean).pop() ?? msg;
    if (device !== 'cpu') throw new Error(`--device ${device}: ${HOW_TO[device]} (onnxruntime said: ${said})`);
    throw e;
  }
}
