/**
 * A checkpoint as ONE self-contained ONNX file (opset 17): the graph of graph.ts, serialised with
 * what the model is in its metadata_props, so a user of the file needs nothing else from melseg.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { ResolvedConfig } from '../graphs';
import { loadWeights } from '../infer/model';
import { describeSettings, resolveSettings, withThreshold, type InferenceRequest, type InferenceSettings } from '../infer/settings';
import { OPSET, serialize } from '../onnx/proto';
import type { CheckpointMeta } from '../checkpoint/checkpoint';
import { toFloat16Weights } from './fp16';
import { exportGraph } from './graph';
import { readJsonFile } from '../util/json';

export interface ExportedModel {
  /** The .onnx file's bytes. */
  bytes: Uint8Array;
  config: ResolvedConfig;
  /** The inference settings the file records (and the web page uses). */
  settings: InferenceSettings;
  /** Where they came from: 'raw', 'the checkpoint', 'preset best', + flags. */
  origin: string;
  metadata: Record<string, string>;
  nodes: number;
  /** Op types in the graph, sorted. */
  ops: string[];
  /** Weights stored as float16 (--fp16). */
  fp16: boolean;
}

export interface ExportModelOptions {
  inference?: InferenceRequest;
  /** Store the weights as float16 (half the file); the network still computes in float32. */
  fp16?: boolean;
}

/** What the file says about itself (metadata_props): model, training and how to use it. */
function describe(file: string, m: CheckpointMeta, c: ResolvedConfig, settings: InferenceSettings, origin: string, fp16: boolean): Record<string, string> {
  const S = c.imageSize;
  const out: Record<string, string> = {
    model: c.model.name,
    model_id: String(c.model.id),
    loss: c.loss.name,
    loss_id: String(c.loss.id),
    image_size: String(S),
    width: String(c.width),
    recipe: typeof m.recipe === 'string' ? m.recipe : 'not recorded in the checkpoint',
    inference: JSON.stringify(settings),
    inference_origin: origin,
    input: `image: float32 [N, 3, ${S}, ${S}], RGB in [0, 1] (8-bit value / 255) after resizing the whole image to ${S} x ${S} (bilinear, antialiased, rounded to 8 bits); the ImageNet normalisation is inside the graph`,
    output: `probability: float32 [N, 1, ${S}, ${S}], the lesion probability per pixel; melseg upsamples it (bilinear, half-pixel centres) to the original size, then thresholds and post-processes: ${describeSettings(settings)}`,
    weights: fp16 ? 'float16 initializers cast to float32 (computation in float32)' : 'float32 initializers',
    checkpoint: path.basename(file),
  };
  if (m.epoch !== undefined) out.epoch = String(m.epoch);
  if (m.bestMetric !== undefined) out.valid_iou = String(m.bestMetric);
  if (m.runId !== undefined) out.run_id = m.runId;
  // the run's full settings, when its run.json is beside the checkpoint
  const runJson = path.join(path.dirname(file), 'run.json');
  if (fs.existsSync(runJson)) {
    try {
      const settings = (readJsonFile(runJson) as { settings?: unknown }).settings;
      if (settings && typeof settings === 'object') out.run_settings = JSON.stringify(settings);
    } catch {
      /* an unreadable run.json only loses this optional key */
    }
  }
  return out;
}

/** The exported model of checkpoint `file` (weights checked: present, finite, the right shapes). */
export function exportModel(file: string, o: ExportModelOptions = {}): ExportedModel {
  const { checkpoint, config: c, state } = loadWeights(file);
  const r = resolveSettings(o.inference ?? {}, checkpoint.meta.inference);
  if (r.threshold === 'auto')
    throw new Error('--threshold auto picks the threshold on the run\'s validation images, which export does not read: give a number, e.g. --threshold 0.5 (melseg evaluate --threshold auto prints the one it picks)');
  const settings = withThreshold(r, r.threshold);
  const g = exportGraph(c, state.values);
  const fp16 = o.fp16 ?? false;
  const metadata = describe(file, checkpoint.meta, c, settings, r.origin, fp16);
  const plain = serialize(g, { metadata, docString: `melseg ${c.model.name} x ${c.loss.name}, ${c.imageSize} px, width ${c.width}, opset ${OPSET}` });
  return { bytes: fp16 ? toFloat16Weights(plain) : plain, config: c, settings, origin: r.origin, metadata, nodes: g.nodes.length, ops: g.opTypes(), fp16 };
}
