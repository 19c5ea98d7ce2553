/**
 * `melseg predict`: masks and overlays for new images of any size, at their original resolution.
 * Inputs are image files or folders (their image files, not their subfolders). Every input keeps
 * its outputs: names that would collide (a/x.jpg and b/x.jpg) get a numbered suffix, reported.
 * Nothing is written outside --out.
 */
import * as fs from 'fs';
import * as path from 'path';
import { decodeImage, resizeBilinear, toTensor } from '../data';
import { resizeProbability } from '../report';
import type { Device } from '../onnx/session';
import { isInside, WriteError } from '../util/atomic';
import { checkImageSize } from './header';
import { openEnsemble, resolveCheckpoint } from './model';
import { writeMaskPng, writeOverlayPng } from './pictures';
import { toMask } from './postprocess';
import { loadRunData } from './rundata';
import { resolveSettings, withThreshold, type InferenceRequest, type InferenceSettings } from './settings';
import { autoThreshold, type ThresholdChoice } from './threshold';
import { predictWithTta } from './tta';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.bmp', '.gif', '.tif', '.tiff'];

export interface PredictOptions {
  /** Default: the model that ships with melseg (resolveCheckpoint); several = an ensemble (mean probability). */
  checkpoint?: string | string[];
  /** Image files and folders. */
  inputs: string[];
  out: string;
  inference?: InferenceRequest;
  /** For --threshold auto: the dataset and split the checkpoint was trained on (defaults as evaluate). */
  data?: string;
  splitFile?: string;
  cacheDir?: string | null;
  device?: Device;
  /** onnxruntime intra-op threads (default: the cores this process may use). */
  threads?: number;
  graphsDir?: string;
  log?: (s: string) => void;
  /** Called once the network and settings are ready, before the first image. */
  onReady?: (r: Omit<PredictResult, 'predictions' | 'failures'>) => void;
  /** Called after each image's files are written (so a log shows progress as it goes). */
  onPrediction?: (p: Prediction) => void;
  /** Called for each image that could not be segmented; the others go on. */
  onFailure?: (f: PredictFailure) => void;
}

/** An image that could not be segmented (unreadable, too large, a name too long for its outputs). */
export interface PredictFailure {
  input: string;
  error: string;
}

export interface Prediction {
  input: string;
  mask: string;
  overlay: string;
  /** Fraction of the image's pixels in the final mask. */
  lesionFraction: number;
  /** Set when the output name got a suffix because an earlier input had the same name. */
  renamedBecause?: string;
}

export interface PredictResult {
  /** The checkpoints averaged (one unless an ensemble). */
  checkpoints: string[];
  settings: InferenceSettings;
  origin: string;
  auto?: ThresholdChoice;
  predictions: Prediction[];
  /** Images that failed; the command exits non-zero when there are any. */
  failures: PredictFailure[];
}

/**
 * A file name as text safe to print on a terminal: control characters (ESC starts the codes that
 * recolour, move the cursor or retitle the window) shown as \xNN escapes, the rest as it is.
 */
export function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Refuses an --out folder that holds an input: its outputs could replace inputs, and a re-run would segment its own masks. */
function checkOutFolder(out: string, files: readonly string[]): void {
  if (fs.existsSync(out) && !fs.statSync(out).isDirectory()) throw new Error(`--out ${out} is a file; expected a folder for the masks and overlays: name another --out`);
  const held = files.find((f) => isInside(f, out));
  if (held)
    throw new Error(
      `--out ${out} holds the input ${held}; predict writes <name>_mask.png and <name>_overlay.png there, which could replace inputs: choose a folder apart from the images, e.g. --out ${path.join(path.dirname(path.resolve(out)), 'predictions')}`,
    );
}

/** Files and folders to a list of image files (a folder's own image files, sorted). */
export function expandInputs(inputs: readonly string[]): string[] {
  if (!inputs.length) throw new Error('predict: no images given; name image files or folders, e.g. melseg predict lesion.jpg photos/ --out predictions/');
  const files: string[] = [];
  const seen = new Set<string>();
  const add = (f: string) => {
    const key = path.resolve(f);
    if (!seen.has(key)) files.push(f);
    seen.add(key);
  };
  for (const input of inputs) {
    let st: fs.Stats;
    try {
      st = fs.statSync(input);
    } catch {
      throw new Error(`image ${input} does not exist; check the path`);
    }
    if (st.isDirectory()) {
      const inside = fs
        .readdirSync(input, { withFileTypes: true })
        .filter((e) => !e.name.startsWith('.') && IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase()))
        .filter((e) => e.isFile() || (e.isSymbolicLink() && fs.statSync(path.join(input, e.name), { throwIfNoEntry: false })?.isFile()))
        .map((e) => path.join(input, e.name))
        .sort();
      if (!inside.length) throw new Error(`folder ${input} holds no image files (${IMAGE_EXTENSIONS.join(', ')}); name image files, or a folder that holds them`);
      inside.forEach(add);
    } else if (st.isFile()) add(input);
    else throw new Error(`${input} is neither an image file nor a folder; name image files (${IMAGE_EXTENSIONS.join(', ')}) or folders`);
  }
  return files;
}

/**
 * One output stem per input: its file name without extension, plus _2, _3, ... when an earlier
 * input took that stem (compared case-insensitively, as on macOS and Windows file systems).
 */
export function outputStems(files: readonly string[]): { stem: string; clashesWith?: string }[] {
  const taken = new Map<string, string>();
  return files.map((f) => {
    const base = path.basename(f, path.extname(f));
    let stem = base;
    for (let k = 2; taken.has(stem.toLowerCase()); k++) stem = `${base}_${k}`;
    const clash = stem === base ? undefined : taken.get(base.toLowerCase());
    taken.set(stem.toLowerCase(), f);
    return clash ? { stem, clashesWith: clash } : { stem };
  });
}

/**
 * The final w x h mask of an S x S probability map. A function of its own so that the full-resolution
 * probabilities (4 bytes a pixel) are garbage the moment it returns: a local of predictImages' loop
 * would stay reachable across the awaits that write the mask and the overlay.
 */
function maskAtOriginalSize(prob: Float32Array, S: number, w: number, h: number, settings: InferenceSettings): Uint8Array {
  return toMask(resizeProbability(prob, S, S, w, h), w, h, settings);
}

/** Write failures that no later image escapes. */
const STOP_ON = ['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM'];

export async function predictImages(o: PredictOptions): Promise<PredictResult> {
  const files = expandInputs(o.inputs);
  const stems = outputStems(files);
  checkOutFolder(o.out, files);
  const given = [o.checkpoint ?? []].flat();
  const net = await openEnsemble(given.length ? given : resolveCheckpoint(), { device: o.device, threads: o.threads, graphsDir: o.graphsDir, log: o.log });
  const checkpoint = net.file;
  const r = resolveSettings(o.inference ?? {}, net.checkpoint.meta.inference);
  let auto: ThresholdChoice | undefined;
  if (r.threshold === 'auto') {
    const rd = await loadRunData({ checkpoint, meta: net.checkpoint.meta, data: o.data, splitFile: o.splitFile, cacheDir: o.cacheDir, needSplit: true, why: '--threshold auto' });
    auto = await autoThreshold(net, rd, r, 8);
  }
  const settings = withThreshold(r, auto ? auto.threshold : (r.threshold as number));
  fs.mkdirSync(o.out, { recursive: true });
  const ready = { checkpoints: net.members, settings, origin: r.origin, ...(auto ? { auto } : {}) };
  o.onReady?.(ready);
  const S = net.size;
  const predictions: Prediction[] = [];
  const failures: PredictFailure[] = [];
  // one image at a time, its size checked before decoding; a failure is recorded and the rest go on
  for (let k = 0; k < files.length; k++) {
    const file = files[k];
    try {
      checkImageSize(file);
      const img = await decodeImage(file);
      const mask = maskAtOriginalSize(await predictWithTta(net.run, toTensor(resizeBilinear(img, S)), 1, S, settings.tta), S, img.width, img.height, settings);
      const p: Prediction = {
        input: file,
        mask: path.join(o.out, `${stems[k].stem}_mask.png`),
        overlay: path.join(o.out, `${stems[k].stem}_overlay.png`),
        lesionFraction: mask.reduce((a, v) => a + v, 0) / mask.length,
      };
      if (stems[k].clashesWith) p.renamedBecause = stems[k].clashesWith;
      await writeMaskPng(mask, img.width, img.height, p.mask);
      await writeOverlayPng(img.data, mask, img.width, img.height, p.overlay);
      predictions.push(p);
      o.onPrediction?.(p);
    } catch (e) {
      // a full, read-only or forbidden --out fails every image alike: stop there (the lines printed so far stand)
      if (e instanceof WriteError && e.reason && STOP_ON.includes(e.reason)) throw e;
      const f = { input: file, error: (e as Error).message };
      failures.push(f);
      o.onFailure?.(f);
    }
  }
  return { ...ready, predictions, failures };
}
