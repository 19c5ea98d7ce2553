/**
 * `melseg export --web DIR`: a static folder that segments images in the browser, with no network:
 *
 *   index.html, melseg-page.js   the page (web/ bundled by web/build.js into dist/web/ at build time)
 *   model.onnx, model.json       the exported model, and its size and inference settings for the page
 *   ort/                         onnxruntime-web's WebAssembly and WebGPU builds, copied from
 *                                node_modules (page-info.ts); the page loads one of the two
 *
 * Browsers do not let a page opened from a file fetch its neighbours, so the folder is served over
 * HTTP (any static server); every file is written atomically.
 */
import * as fs from 'fs';
import * as path from 'path';
import { copyFileAtomic, writeFileAtomic, writeFolderAtomic } from '../util/atomic';
import type { ExportedModel } from './model';
import { ORT_BUILDS, type PageModelInfo } from './page-info';
import { writeTrainable } from './trainable';

export { ORT_BUILDS, type Backend, type PageModelInfo } from './page-info';

const PACKAGE_ROOT = path.join(__dirname, '..', '..');

/** The page's files, built into dist/web/ by web/build.js (npm run build). */
export const PAGE_FILES = ['index.html', 'melseg-page.js'] as const;

/** Both onnxruntime-web builds (page-info.ts): the page picks one when it loads. */
export const ORT_FILES: readonly string[] = [...ORT_BUILDS.wasm, ...ORT_BUILDS.webgpu];

/** Every file the page's folder gets without --trainable, relative to it. */
export const WEB_FILES: readonly string[] = [...PAGE_FILES, 'model.onnx', 'model.json', ...ORT_FILES.map((f) => path.join('ort', f))];

export function pageDir(root = PACKAGE_ROOT): string {
  return path.join(root, 'dist', 'web');
}

/** onnxruntime-web's dist/ folder, or a clear error. */
export function ortDistDir(): string {
  let entry: string;
  try {
    entry = require.resolve('onnxruntime-web');
  } catch {
    throw new Error('onnxruntime-web is not installed, and --web copies its runtime into the folder: run npm install in melseg\'s folder');
  }
  // the package's main entry lives in its dist/ folder
  const dir = path.dirname(entry);
  const missing = ORT_FILES.filter((f) => !fs.existsSync(path.join(dir, f)));
  if (missing.length) throw new Error(`onnxruntime-web in ${path.dirname(dir)} lacks ${missing.join(', ')}; reinstall it: npm install onnxruntime-web@1.30.0`);
  return dir;
}

export async function writeWebFolder(dir: string, model: ExportedModel, checkpoint: string, o: { pageRoot?: string; trainable?: boolean } = {}): Promise<{ file: string; bytes: number }[]> {
  const page = o.pageRoot ?? pageDir();
  const missing = PAGE_FILES.filter((f) => !fs.existsSync(path.join(page, f)));
  if (missing.length) throw new Error(`the web page's files (${missing.map((f) => path.join(page, f)).join(', ')}) are not built: run npm run build in melseg's folder, then export again`);
  const ort = ortDistDir();
  const info: PageModelInfo = {
    model: model.config.model.name,
    loss: model.config.loss.name,
    imageSize: model.config.imageSize,
    width: model.config.width,
    settings: model.settings,
    origin: model.origin,
    fp16: model.fp16,
    checkpoint: path.basename(checkpoint),
    trainable: o.trainable ?? false,
    ...(model.metadata.valid_iou ? { validIou: Number(model.metadata.valid_iou) } : {}),
  };
  // built beside dir and renamed into place (index.html last): a kill leaves the old page or the new one
  const written: string[] = [...WEB_FILES];
  await writeFolderAtomic(
    dir,
    async (stage) => {
      for (const f of PAGE_FILES) await copyFileAtomic(path.join(page, f), path.join(stage, f));
      await writeFileAtomic(path.join(stage, 'model.onnx'), model.bytes);
      await writeFileAtomic(path.join(stage, 'model.json'), JSON.stringify(info, null, 2) + '\n');
      for (const f of ORT_FILES) await copyFileAtomic(path.join(ort, f), path.join(stage, 'ort', f));
      if (o.trainable) written.push(...(await writeTrainable(stage, model.config, checkpoint)));
    },
    { last: 'index.html' },
  );
  return written.map((f) => ({ file: path.join(dir, f), bytes: fs.statSync(path.join(dir, f)).size }));
}
