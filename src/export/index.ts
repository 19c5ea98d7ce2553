/**
 * `melseg export`: a checkpoint (default: the model that ships with melseg) as one self-contained
 * ONNX file (--out), and/or a static web page that segments images in the browser (--web).
 */
import * as fs from 'fs';
import * as path from 'path';
import { resolveCheckpoint } from '../infer/model';
import type { InferenceRequest } from '../infer/settings';
import { writeFileAtomic } from '../util/atomic';
import { exportModel, type ExportedModel } from './model';
import { writeWebFolder } from './web';

export { exportModel, type ExportedModel } from './model';
export { exportGraph } from './graph';
export { segmentImage, unitTensor, type Segmentation } from './segment';

export interface ExportOptions {
  /** Default: the model that ships with melseg (resolveCheckpoint). */
  checkpoint?: string;
  /** The .onnx file to write. */
  out?: string;
  /** The folder of the web page. */
  web?: string;
  inference?: InferenceRequest;
  fp16?: boolean;
  /** With --web: add the train step, so the page can fine-tune the model on the user's images. */
  trainable?: boolean;
  /** Where the page's built files are (default dist/web/ of the package); for tests. */
  pageRoot?: string;
  /** Where the shipped model is looked for (default the package root); for tests. */
  packageRoot?: string;
}

export interface ExportResult {
  checkpoint: string;
  model: ExportedModel;
  files: { file: string; bytes: number }[];
}

export async function exportCheckpoint(o: ExportOptions): Promise<ExportResult> {
  if (!o.out && !o.web) throw new Error('export: nothing to write; give --out model.onnx (the model file), --web DIR (a page that segments in the browser), or both');
  if (o.out && fs.existsSync(o.out) && fs.statSync(o.out).isDirectory()) throw new Error(`--out ${o.out} is a folder; expected a file name, e.g. --out ${path.join(o.out, 'model.onnx')}`);
  if (o.web && fs.existsSync(o.web) && !fs.statSync(o.web).isDirectory()) throw new Error(`--web ${o.web} is a file; expected a folder for the page (created if missing), e.g. --web ${o.web}-page`);
  const checkpoint = resolveCheckpoint(o.checkpoint, o.packageRoot);
  const model = exportModel(checkpoint, { inference: o.inference, fp16: o.fp16 });
  const files: ExportResult['files'] = [];
  if (o.out) {
    await writeFileAtomic(o.out, model.bytes);
    files.push({ file: o.out, bytes: model.bytes.length });
  }
  if (o.trainable && !o.web) throw new Error('--trainable adds fine-tuning to the web page: give --web DIR too, e.g. --web lesion-page/ --trainable');
  if (o.web) files.push(...(await writeWebFolder(o.web, model, checkpoint, { pageRoot: o.pageRoot, trainable: o.trainable })));
  return { checkpoint, model, files };
}
