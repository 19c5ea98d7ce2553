/**
 * A trained network ready to predict: its checkpoint (bounds-checked metadata, finite weights), the
 * configuration that metadata names, and the inference graph's session. This is the one place
 * evaluate and predict get their graphs from.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { GRAPH_FILES, parameterSpecs, resolveConfig, type ResolvedConfig } from '../graphs';
import * as N from '../onnx/names';
import { firstNonFinite, loadCheckpoint, type Checkpoint } from '../checkpoint/checkpoint';
import { openSession, type Device } from '../onnx/session';
import { ensureGraphs } from '../graphs';
import { ModelState } from '../checkpoint/state';
import type { Network } from './tta';

/** The model that ships with melseg, relative to the package root (dist/infer or src/infer -> ../..). */
export const SHIPPED_MODEL = path.join('models', 'isic2017.safetensors');

const PACKAGE_ROOT = path.join(__dirname, '..', '..');

/** --checkpoint when given, else the shipped model; a clear error when neither exists. */
export function resolveCheckpoint(given?: string, packageRoot = PACKAGE_ROOT): string {
  if (given !== undefined) return given;
  const shipped = path.join(packageRoot, SHIPPED_MODEL);
  if (!fs.existsSync(shipped))
    throw new Error(`no --checkpoint given, and the model that ships with melseg (${shipped}) is not installed; pass --checkpoint artifacts/<run>/best.ckpt (melseg train writes one)`);
  return shipped;
}

export interface LoadedNetwork {
  /** The first checkpoint: its metadata (dataset, inference settings) and split.json speak for all. */
  file: string;
  /** Every checkpoint averaged (one, or an ensemble). */
  members: string[];
  config: ResolvedConfig;
  checkpoint: Checkpoint;
  /** Side of the network input. */
  size: number;
  run: Network;
}

export interface OpenOptions {
  device?: Device;
  /** onnxruntime intra-op threads (default: the cores this process may use; src/onnx/session.ts). */
  threads?: number;
  graphsDir?: string;
  log?: (s: string) => void;
}

/** Read the weights (not the AdamW moments), refuse non-finite ones, check the shapes. */
export function loadWeights(file: string): { checkpoint: Checkpoint; config: ResolvedConfig; state: ModelState } {
  if (!fs.existsSync(file)) throw new Error(`checkpoint ${file} does not exist; train one with \`melseg train\` (it writes artifacts/<run>/best.ckpt)`);
  const checkpoint = loadCheckpoint(file, { optimizer: false });
  const bad = firstNonFinite(checkpoint);
  if (bad)
    throw new Error(`checkpoint ${file}: tensor "${bad.tensor}" holds ${bad.value} at element ${bad.index}; the weights are broken (training diverged): use an earlier checkpoint such as best.ckpt, or retrain`);
  const m = checkpoint.meta;
  const config = resolveConfig({ model: m.model, loss: m.loss, imageSize: m.imageSize, width: m.width });
  return { checkpoint, config, state: ModelState.fromCheckpoint(checkpoint, parameterSpecs(config), config) };
}

export async function openNetwork(file: string, o: OpenOptions = {}): Promise<LoadedNetwork> {
  const { checkpoint, config: c, state } = loadWeights(file);
  const graphs = await ensureGraphs(c, { root: o.graphsDir, device: o.device, kinds: ['inference'], log: o.log });
  const session = await openSession(path.join(graphs.dir, GRAPH_FILES.inference), o.device ?? 'cpu', { threads: o.threads });
  const params = state.feeds(graphs.manifest.graphs.inference.inputs);
  const S = c.imageSize;
  const run: Network = async (images, count) => {
    const out = await session.run({ ...params, [N.IMAGE]: new ort.Tensor('float32', images, [count, 3, S, S]) });
    return out[N.PROBABILITY].data as Float32Array;
  };
  return { file, members: [file], config: c, checkpoint, size: S, run };
}

/**
 * Several checkpoints as one network whose probability is the mean of theirs (an ensemble of seeds
 * or of cross-validation folds); one checkpoint is just that network. Members may differ in model,
 * loss and width, not in image size: their maps are averaged pixel by pixel before upsampling.
 */
export async function openEnsemble(checkpoints: string | readonly string[], o: OpenOptions = {}): Promise<LoadedNetwork> {
  const files = [checkpoints].flat();
  if (!files.length) throw new Error('no --checkpoint given; pass one or more, e.g. --checkpoint artifacts/<run>/best.ckpt');
  const dup = files.find((f, i) => files.findIndex((g) => path.resolve(g) === path.resolve(f)) !== i);
  if (dup) throw new Error(`--checkpoint ${dup} is given twice; an ensemble averages different checkpoints: drop the repeat`);
  const nets: LoadedNetwork[] = [];
  for (const f of files) nets.push(await openNetwork(f, o));
  const [first] = nets;
  if (nets.length === 1) return first;
  const odd = nets.find((n) => n.size !== first.size);
  if (odd)
    throw new Error(`--checkpoint ${odd.file} was trained at ${odd.size} px, ${first.file} at ${first.size} px; an ensemble averages maps of one size: use checkpoints trained at the same --image-size`);
  const run: Network = async (images, count) => {
    const sum = Float32Array.from(await first.run(images, count));
    for (const n of nets.slice(1)) {
      const p = await n.run(images, count);
      for (let i = 0; i < sum.length; i++) sum[i] += p[i];
    }
    for (let i = 0; i < sum.length; i++) sum[i] /= nets.length;
    return sum;
  };
  return { ...first, members: nets.map((n) => n.file), run };
}
