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
import { firstNonFinite, loadCheckpoint, type Checkpoint } from '../train/checkpoint';
import { openSession, type Device } from '../onnx/session';
import { ensureGraphs } from '../graphs';
import { ModelState } from '../train/state';
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
  file: string;
  config: ResolvedConfig;
  checkpoint: Checkpoint;
  /** Side of the network input. */
  size: number;
  run: Network;
}

export interface OpenOptions {
  device?: Device;
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
  const session = await openSession(path.join(graphs.dir, GRAPH_FILES.inference), o.device ?? 'cpu');
  const params = state.feeds(graphs.manifest.graphs.inference.inputs);
  const S = c.imageSize;
  const run: Network = async (images, count) => {
    const out = await session.run({ ...params, [N.IMAGE]: new ort.Tensor('float32', images, [count, 3, S, S]) });
    return out[N.PROBABILITY].data as Float32Array;
  };
  return { file, config: c, checkpoint, size: S, run };
}
