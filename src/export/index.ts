/**
 * `melseg export`: a checkpoint (default: the model that ships with melseg) as one self-contained
 * ONNX file (--out), and/or a static web page that segments images in the browser (--web).
 */
import * as fs from 'fs';
import * as path from 'path';
import { resolveCheckpoint } from '../infer/model';
import type { InferenceRequest } from '../infer/settings';
import { checkOutputFile, writeFileAtomic } from '../util/atomic';
import { exportModel, type ExportedModel } from './model';
import { WEB_FILES, writeWebFolder } from './web';

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
  /** Replace an existing --out, or the files of an earlier page in --web (never the checkpoint). */
  force?: boolean;
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

/**
 * --web DIR may be new, empty, or hold the user's own files (images the page segments); the files an
 * earlier export wrote there are replaced only with --force, and never when one is the checkpoint.
 */
function checkWebFolder(dir: string, checkpoint: string, force: boolean): void {
  if (!fs.existsSync(dir)) return;
  const ours = WEB_FILES.filter((f) => fs.existsSync(path.join(dir, f)));
  for (const f of ours) checkOutputFile(path.join(dir, f), { flag: '--web', expected: 'a file name', noun: 'the page', example: f, inputs: [{ flag: '--checkpoint', file: checkpoint }], force: true });
  if (ours.length && !force)
    throw new Error(`--web ${dir} already holds a page (${ours.slice(0, 3).join(', ')}${ours.length > 3 ? ', ...' : ''}); add --force to replace its files (your other files there are kept), or choose another --web`);
}

export async function exportCheckpoint(o: ExportOptions): Promise<ExportResult> {
  if (!o.out && !o.web) throw new Error('export: nothing to write; give --out model.onnx (the model file), --web DIR (a page that segments in the browser), or both');
  if (o.web && fs.existsSync(o.web) && !fs.statSync(o.web).isDirectory()) throw new Error(`--web ${o.web} is a file; expected a folder for the page (created if missing), e.g. --web ${o.web}-page`);
  const checkpoint = resolveCheckpoint(o.checkpoint, o.packageRoot);
  const inputs = [{ flag: '--checkpoint', file: checkpoint }];
  if (o.out) checkOutputFile(o.out, { flag: '--out', expected: 'a file name', noun: 'the ONNX file', example: 'model.onnx', inputs, force: o.force });
  if (o.web) checkWebFolder(o.web, checkpoint, !!o.force);
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
