/**
 * onnxruntime sessions, for training, evaluation, benchmarks and tests alike: ONE set of session
 * options (sessionOptions), and the execution providers. 'cpu' is always there; 'webgpu' ships
 * inside onnxruntime-node on Linux but needs a GPU adapter (Vulkan); 'cuda' needs the CUDA provider
 * that onnxruntime-node's install step downloads only when asked (ONNXRUNTIME_NODE_INSTALL=cuda12,
 * see README "GPU").
 */
import * as fs from 'fs';
import * as ort from 'onnxruntime-node';
import * as os from 'os';
import * as path from 'path';
import type { Graph } from './graph';
import { serialize } from './proto';
import { availableCores } from '../util/machine';

export type Device = 'cpu' | 'cuda' | 'webgpu';
/** The execution providers melseg runs on: the one list the --device flags and parseDevice read. */
export const DEVICES: readonly Device[] = ['cpu', 'cuda', 'webgpu'];

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
    'no WebGPU adapter: onnxruntime-node bundles the WebGPU provider on Linux, but it needs a Vulkan driver (libvulkan1 and an ICD): ' +
    "a GPU's own (Mesa's radv/anv, NVIDIA's driver), or Mesa's software one, lavapipe, from Mesa 24 or later " +
    "(on Debian 12 run: bash scripts/setup.sh, which installs mesa-vulkan-drivers and libvulkan1 from bookworm-backports; bookworm's Mesa 22.3 is too old for Dawn). " +
    'Or use --device cpu.',
};

/**
 * The session options of every melseg session: `device`'s provider first, then the CPU for any node
 * it lacks; all graph optimisations; sequential execution without an inter-op pool (parallel
 * branches would only fight for the same cores); `threads` intra-op threads (default: the cores this
 * process may use, availableCores()). No memory pattern: onnxruntime would then plan one block per run from the
 * first run's allocations, which for the training graphs raised peak RSS 1.6-1.8x (3.8 against 2.4
 * GiB for UNet at 256 px, width 1, batch 2) at equal speed. Measured and left as they are:
 * optimisation level 'extended' instead of 'all' (no faster), the CPU arena off (~1.4x slower, no
 * less RSS), intra-op spinning off (~6% slower on an idle machine).
 */
export function sessionOptions(device: Device, o: { threads?: number } = {}): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: device === 'cpu' ? ['cpu'] : [device, 'cpu'],
    // errors only: on a GPU provider onnxruntime warns at every session that it placed shape ops on the
    // CPU (by design); the ops melseg's graphs would really run on the CPU are reported by src/onnx/providers.ts
    ...(device === 'cpu' ? {} : { logSeverityLevel: 3 as const }),
    graphOptimizationLevel: 'all',
    enableMemPattern: false,
    executionMode: 'sequential',
    interOpNumThreads: 1,
    intraOpNumThreads: o.threads ?? availableCores(),
  };
}

/**
 * --threads: onnxruntime's intra-op threads, a whole number >= 1; undefined (the flag not given) is
 * the cores this process may use (onnxruntime's own default counts every core of the machine, even
 * where a cgroup quota or Slurm's --cpus-per-task allows fewer).
 */
export function parseThreads(n: number | undefined): number | undefined {
  if (n === undefined) return undefined;
  if (!Number.isInteger(n) || n < 1) throw new Error(`--threads ${n}: expected a whole number >= 1 (onnxruntime's intra-op threads), e.g. --threads ${availableCores()} (the CPU cores this process may use)`);
  return n;
}

export interface OpenOptions {
  threads?: number;
  /** onnxruntime options laid over sessionOptions' (benchmark experiments, profiling) */
  extra?: ort.InferenceSession.SessionOptions;
}

/**
 * Dawn's Vulkan loader and Mesa's window-system code read XDG_RUNTIME_DIR and complain, on stderr and
 * in words that read as errors, when it is unset (a service, a container, `su`). melseg opens no
 * window, so a private empty folder (mode 0700, as the XDG spec asks; removed at exit) serves.
 * A folder the user set is left alone.
 */
export function ensureRuntimeDir(env: NodeJS.ProcessEnv = process.env): string {
  const set = env.XDG_RUNTIME_DIR;
  if (set) return set;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-xdg-'));
  env.XDG_RUNTIME_DIR = dir;
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Open a session on `device`, turning provider failures into an error that says how to fix them. */
/** onnxruntime's error in words: its last line, without the source location and the failed condition ("x.cc:136 ... was false."). */
function ortSaid(msg: string): string {
  return (msg.split('\n').map((l) => l.trim()).filter(Boolean).pop() ?? msg).replace(/^\S+\.cc:\d+ .*? was false\. /, '');
}

export async function openSession(model: Uint8Array | string, device: Device = 'cpu', o: OpenOptions = {}): Promise<ort.InferenceSession> {
  if (device !== 'cpu') {
    const listed = ort.listSupportedBackends().some((b) => b.name === device);
    if (!listed) throw new Error(`--device ${device}: ${HOW_TO[device]}`);
  }
  if (device === 'webgpu') ensureRuntimeDir();
  // a file is read here, so that one create() overload takes both
  const bytes = typeof model === 'string' ? fs.readFileSync(model) : model;
  try {
    return await ort.InferenceSession.create(bytes, { ...sessionOptions(device, o), ...o.extra });
  } catch (e) {
    const msg = (e as Error).message;
    const said = ortSaid(msg);
    if (device === 'cuda' || (device === 'webgpu' && /adapter|vulkan|dawn/i.test(msg))) throw new Error(`--device ${device}: ${HOW_TO[device]} (onnxruntime said: ${said})`);
    if (device !== 'cpu') throw new Error(`--device ${device}: onnxruntime could not open the graph on the ${device} provider: ${said}; --device cpu runs it`);
    throw e;
  }
}

/** Lower, prune, serialise and open a CPU session for a graph built by hand (tests and tools). */
export async function sessionFor(g: Graph, o: OpenOptions = {}): Promise<ort.InferenceSession> {
  g.lower();
  g.prune();
  return openSession(serialize(g), 'cpu', o);
}

/** A one-node model (Relu of a float[1]) that a provider must open: melseg's own serialisation of it. */
const PROBE_MODEL = Buffer.from('CAgSBm1lbHNlZzIAOkEKFgoBeBIBeRoGUmVsdV8xIgRSZWx1OgASBXByb2JlWg8KAXgSCgoICAESBAoCCAFiDwoBeRIKCggIARIECgIIAUIECgAQEQ==', 'base64');

/**
 * Opens the probe model on `device` alone, so that a missing provider (CUDA's libraries, a WebGPU
 * adapter) is reported before data is decoded or graphs are compiled; onnxruntime's own log line is
 * silenced (severity 4 = fatal only) since the error says what to do.
 */
export async function checkDevice(device: Device): Promise<void> {
  if (device === 'cpu') return;
  if (!ort.listSupportedBackends().some((b) => b.name === device)) throw new Error(`--device ${device}: ${HOW_TO[device]}`);
  if (device === 'webgpu') ensureRuntimeDir();
  try {
    const s = await ort.InferenceSession.create(PROBE_MODEL, { executionProviders: [device], logSeverityLevel: 4 });
    await s.release();
  } catch (e) {
    const said = ortSaid((e as Error).message);
    throw new Error(`--device ${device}: ${HOW_TO[device]} (onnxruntime said: ${said})`);
  }
}
