/**
 * onnxruntime sessions, for training, evaluation, benchmarks and tests alike: ONE set of session
 * options (sessionOptions), and the execution providers. 'cpu' is always there; 'webgpu' ships
 * inside onnxruntime-node on Linux but needs a GPU adapter (Vulkan); 'cuda' needs the CUDA provider
 * that onnxruntime-node's install step downloads only when asked (ONNXRUNTIME_NODE_INSTALL=cuda12,
 * see README "GPU").
 */
import * as fs from 'fs';
import * as ort from 'onnxruntime-node';
import type { Graph } from './graph';
import { serialize } from './proto';

export type Device = 'cpu' | 'cuda' | 'webgpu';
const DEVICES: readonly Device[] = ['cpu', 'cuda', 'webgpu'];

export function parseDevice(s: string): Device {
  const d = s.trim().toLowerCase();
  const hit = DEVICES.find((x) => x === d);
  if (!hit) throw new Error(`device '${s}': expected one of ${DEVICES.join(', ')}`);
  return hit;
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

/**
 * The session options of every melseg session: `device`'s provider first, then the CPU for any node
 * it lacks; all graph optimisations; sequential execution without an inter-op pool (parallel
 * branches would only fight for the same cores); `threads` intra-op threads (default: onnxruntime's,
 * one per physical core). No memory pattern: onnxruntime would then plan one block per run from the
 * first run's allocations, which for the training graphs raised peak RSS 1.6-1.8x (3.8 against 2.4
 * GiB for UNet at 256 px, width 1, batch 2) at equal speed. Measured and left as they are:
 * optimisation level 'extended' instead of 'all' (no faster), the CPU arena off (~1.4x slower, no
 * less RSS), intra-op spinning off (~6% slower on an idle machine).
 */
export function sessionOptions(device: Device, o: { threads?: number } = {}): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: device === 'cpu' ? ['cpu'] : [device, 'cpu'],
    graphOptimizationLevel: 'all',
    enableMemPattern: false,
    executionMode: 'sequential',
    interOpNumThreads: 1,
    ...(o.threads ? { intraOpNumThreads: o.threads } : {}),
  };
}

export interface OpenOptions {
  threads?: number;
  /** onnxruntime options laid over sessionOptions' (benchmark experiments, profiling) */
  extra?: ort.InferenceSession.SessionOptions;
}

/** Open a session on `device`, turning provider failures into an error that says how to fix them. */
export async function openSession(model: Uint8Array | string, device: Device = 'cpu', o: OpenOptions = {}): Promise<ort.InferenceSession> {
  if (device !== 'cpu') {
    const listed = ort.listSupportedBackends().some((b) => b.name === device);
    if (!listed) throw new Error(`--device ${device}: ${HOW_TO[device]}`);
  }
  // a file is read here, so that one create() overload takes both
  const bytes = typeof model === 'string' ? fs.readFileSync(model) : model;
  try {
    return await ort.InferenceSession.create(bytes, { ...sessionOptions(device, o), ...o.extra });
  } catch (e) {
    const msg = (e as Error).message;
    const said = msg.split('\n').map((l) => l.trim()).filter(Boolean).pop() ?? msg;
    if (device !== 'cpu') throw new Error(`--device ${device}: ${HOW_TO[device]} (onnxruntime said: ${said})`);
    throw e;
  }
}

/** Lower, prune, serialise and open a CPU session for a graph built by hand (tests and tools). */
export async function sessionFor(g: Graph, o: OpenOptions = {}): Promise<ort.InferenceSession> {
  g.lower();
  g.prune();
  return openSession(serialize(g), 'cpu', o);
}
