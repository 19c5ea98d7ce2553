/**
 * Training checkpoints: ONE safetensors file holding the model's state_dict, the AdamW moments
 * and JSON metadata, written atomically (a crash mid-save leaves the previous file intact).
 *
 * File layout (see src/checkpoint/safetensors.ts for the container):
 *   tensors   "<state_dict name>"      every model tensor under its PyTorch state_dict name,
 *                                      incl. BatchNorm's int64 `num_batches_tracked`
 *             "__optim__.m.<name>"     AdamW first moment of trainable param <name> (F32)
 *             "__optim__.v.<name>"     AdamW second moment (F32)
 *   metadata  format  = "pt"           (what safetensors.torch.save_file writes)
 *             melseg  = JSON(meta)     model id/name, loss, image size, width, epoch, ...
 *             trainer = JSON(trainerState)   scheduler / rng state, history (only if given)
 *             optimizer = JSON({step})       AdamW step count (only if moments are stored)
 *             melseg_schema = "1"      layout version of this file
 *
 * Loading in PyTorch: the file is a standard safetensors file, so
 *     from safetensors.torch import load_file
 *     sd = {k: v for k, v in load_file("best.ckpt").items() if not k.startswith("__optim__.")}
 *     model.load_state_dict(sd)
 * (the `__optim__.` prefix exists so the optimizer tensors are easy to filter out; a checkpoint
 * saved without `optimizer` has none).
 */
import { inferenceSettingsProblem, type InferenceSettings } from './inference';
import { LOSSES } from '../losses';
import { MODELS } from '../models';
import { writeFileAtomic, writeFileAtomicSync } from '../util/atomic';
import { parseJson as parseJsonText } from '../util/json';
import {
  bytesSource,
  encodeSafetensorsChunks,
  readSafetensorsHeader,
  readSafetensorsTensors,
  withFileSource,
  type ByteSource,
  type SafeTensor,
  type SafetensorsHeader,
} from './safetensors';

export interface CheckpointMeta {
  model: number;
  modelName: string;
  loss: number;
  lossName: string;
  imageSize: number;
  width: number;
  epoch?: number;
  step?: number;
  bestMetric?: number;
  runId?: string;
  /** The --data the run was trained on. */
  dataset?: string;
  melsegVersion?: string;
  /** Preferred inference settings (predict and evaluate use them unless told otherwise). */
  inference?: InferenceSettings;
  [k: string]: unknown;
}

export interface CheckpointOptimizer {
  /** AdamW step count t (bias correction uses 1 - beta^t). */
  step: number;
  /** First moments, keyed by trainable parameter (state_dict) name. */
  m: Record<string, Float32Array>;
  /** Second moments, same keys as `m`. */
  v: Record<string, Float32Array>;
}

export interface Checkpoint {
  meta: CheckpointMeta;
  /** state_dict names -> tensors, incl. num_batches_tracked (int64). */
  params: Record<string, SafeTensor>;
  optimizer?: CheckpointOptimizer;
  /** Any JSON-serialisable value (scheduler state, rng state, history); stored in metadata. */
  trainerState?: unknown;
  /** Set by loadCheckpoint to the path it read (used in error messages); not stored in the file. */
  source?: string;
}

export const OPTIM_PREFIX = '__optim__.';
const M_PREFIX = `${OPTIM_PREFIX}m.`;
const V_PREFIX = `${OPTIM_PREFIX}v.`;
const SCHEMA = '1';

// ---------------------------------------------------------------------------------------------
// JSON that round-trips exactly
// ---------------------------------------------------------------------------------------------

/**
 * JSON.stringify silently turns NaN/Infinity into null, typed arrays into {"0":..}, Map/Set into
 * {}, and drops functions, so a resumed run would get different state without any error. Reject
 * those up front, naming the path of the first offending value.
 */
function findNonJson(value: unknown, path: string, seen: Set<object>): string | undefined {
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) ? undefined : `${path} is ${value}, which JSON cannot store (it would become null); store it as a string or a finite number`;
    case 'bigint':
      return `${path} is a bigint, which JSON cannot store; convert it with Number() or String()`;
    case 'function':
    case 'symbol':
      return `${path} is a ${typeof value}, which JSON drops silently; remove it`;
    case 'object': {
      if (value === null) return undefined;
      if (ArrayBuffer.isView(value)) return `${path} is a ${value.constructor.name}, which JSON would turn into an object; convert it with Array.from() or store it as a tensor`;
      if (value instanceof Map || value instanceof Set) return `${path} is a ${value.constructor.name}, which JSON would turn into {}; convert it to a plain object / array`;
      if (seen.has(value)) return `${path} is a circular reference; JSON cannot store cycles`;
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return undefined; // e.g. Date
      seen.add(value);
      try {
        if (Array.isArray(value)) {
          for (let i = 0; i < value.length; i++) {
            const r = findNonJson(value[i], `${path}[${i}]`, seen);
            if (r) return r;
          }
        } else {
          for (const [k, v] of Object.entries(value)) {
            if (v === undefined) continue; // optional fields: omitted, as intended
            const r = findNonJson(v, `${path}.${k}`, seen);
            if (r) return r;
          }
        }
      } finally {
        seen.delete(value);
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

function strictJson(value: unknown, what: string, file: string): string {
  const problem = findNonJson(value, what, new Set());
  if (problem) throw new Error(`cannot save checkpoint ${file}: ${problem}.`);
  return JSON.stringify(value);
}

// ---------------------------------------------------------------------------------------------
// save
// ---------------------------------------------------------------------------------------------

/**
 * The safetensors file of a checkpoint as chunks written back to back (header, then each tensor's
 * own memory): a checkpoint over 2 GiB (width 3 with AdamW moments) is never concatenated.
 */
export function encodeCheckpoint(ck: Checkpoint, file = 'checkpoint'): Uint8Array[] {
  const fail = (msg: string) => new Error(`cannot save checkpoint ${file}: ${msg}`);
  if (!ck || typeof ck !== 'object' || !ck.meta || !ck.params) throw fail('expected {meta, params, optimizer?, trainerState?}');
  checkMeta(ck.meta, (msg) => fail(msg));

  const tensors: Record<string, SafeTensor> = {};
  for (const [name, t] of Object.entries(ck.params)) {
    if (name.startsWith(OPTIM_PREFIX)) throw fail(`parameter "${name}" uses the reserved prefix "${OPTIM_PREFIX}" (optimizer tensors); rename the parameter`);
    tensors[name] = t;
  }
  const metadata: Record<string, string> = {
    format: 'pt',
    melseg: strictJson(ck.meta, 'meta', file),
    melseg_schema: SCHEMA,
  };
  if (ck.trainerState !== undefined) metadata.trainer = strictJson(ck.trainerState, 'trainerState', file);

  if (ck.optimizer) {
    const { step, m, v } = ck.optimizer;
    if (!Number.isSafeInteger(step) || step < 0) throw fail(`optimizer.step must be a non-negative integer, found ${step}`);
    const mk = Object.keys(m).sort();
    const vk = Object.keys(v).sort();
    const onlyM = mk.filter((k) => !Object.hasOwn(v, k));
    const onlyV = vk.filter((k) => !Object.hasOwn(m, k));
    if (onlyM.length || onlyV.length)
      throw fail(`optimizer.m and optimizer.v must have the same parameter names; only in m: [${onlyM.join(', ')}], only in v: [${onlyV.join(', ')}]`);
    for (const name of mk) {
      const mm = m[name];
      const vv = v[name];
      if (!(mm instanceof Float32Array) || !(vv instanceof Float32Array))
        throw fail(`optimizer moments for "${name}" must be Float32Arrays, found ${mm?.constructor?.name} / ${vv?.constructor?.name}`);
      if (mm.length !== vv.length) throw fail(`optimizer moments for "${name}" differ in length: m has ${mm.length}, v has ${vv.length}`);
      // Give the moment its parameter's shape when sizes agree (nicer in PyTorch), else flat.
      const p = Object.hasOwn(ck.params, name) ? ck.params[name] : undefined;
      const shape = p && p.data.length === mm.length ? [...p.shape] : [mm.length];
      tensors[M_PREFIX + name] = { dtype: 'float32', shape, data: mm };
      tensors[V_PREFIX + name] = { dtype: 'float32', shape, data: vv };
    }
    metadata.optimizer = JSON.stringify({ step });
  }
  try {
    return encodeSafetensorsChunks(tensors, metadata);
  } catch (e) {
    throw fail((e as Error).message.replace(/^encodeSafetensors: /, ''));
  }
}

/** Save `ck` to `file` atomically (temp file + fsync + rename), creating parent directories. */
export async function saveCheckpoint(file: string, ck: Checkpoint): Promise<void> {
  await writeFileAtomic(file, encodeCheckpoint(ck, file));
}

/** Synchronous twin of {@link saveCheckpoint}. */
export function saveCheckpointSync(file: string, ck: Checkpoint): void {
  writeFileAtomicSync(file, encodeCheckpoint(ck, file));
}

// ---------------------------------------------------------------------------------------------
// load
// ---------------------------------------------------------------------------------------------

/**
 * Bounds on every metadata field: the metadata decides how much memory predict allocates (the image
 * size) and which graphs are built, so a corrupted or hostile file must stop here, not in the OOM
 * killer. Each check returns the allowed range, or null when the value is within it.
 */
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const MAX_TEXT = 4096;
const META_BOUNDS: Record<string, { required: boolean; range: string; ok: (v: unknown, m: Record<string, unknown>) => boolean }> = {
  model: { required: true, range: `an integer 0..${MODELS.length - 1} (the model table)`, ok: (v) => isInt(v) && v >= 0 && v < MODELS.length },
  modelName: {
    required: true,
    range: 'the name of its model number in the model table',
    ok: (v, m) => typeof v === 'string' && isInt(m.model) && MODELS[m.model as number]?.name === v,
  },
  loss: { required: true, range: `an integer 0..${LOSSES.length - 1} (the loss table)`, ok: (v) => isInt(v) && v >= 0 && v < LOSSES.length },
  lossName: {
    required: true,
    range: 'the name of its loss number in the loss table',
    ok: (v, m) => typeof v === 'string' && isInt(m.loss) && LOSSES[m.loss as number]?.name === v,
  },
  imageSize: { required: true, range: 'a multiple of 32 from 32 to 2048', ok: (v) => isInt(v) && v >= 32 && v <= 2048 && v % 32 === 0 },
  // round(64 w) channels: at least 1, so w >= 1/128.
  width: { required: true, range: 'a number in (0, 4] giving at least one channel (>= 1/128)', ok: (v) => typeof v === 'number' && v >= 1 / 128 && v <= 4 },
  epoch: { required: false, range: 'a non-negative integer', ok: (v) => isInt(v) && v >= 0 },
  step: { required: false, range: 'a non-negative integer', ok: (v) => isInt(v) && v >= 0 },
  bestMetric: { required: false, range: 'a number in [0, 1]', ok: (v) => typeof v === 'number' && v >= 0 && v <= 1 },
  runId: { required: false, range: `a string of at most ${MAX_TEXT} characters`, ok: (v) => typeof v === 'string' && v.length <= MAX_TEXT },
  dataset: { required: false, range: `a string of at most ${MAX_TEXT} characters`, ok: (v) => typeof v === 'string' && v.length <= MAX_TEXT },
  melsegVersion: { required: false, range: 'a string of at most 64 characters', ok: (v) => typeof v === 'string' && v.length <= 64 },
};

/** `fail` receives "meta.<field> is <value>, expected <range>" and wraps it with the file and the fix. */
function checkMeta(meta: unknown, fail: (msg: string) => Error): asserts meta is CheckpointMeta {
  if (!meta || typeof meta !== 'object' || Array.isArray(meta)) throw fail(`expected meta to be an object, found ${JSON.stringify(meta)}`);
  const m = meta as Record<string, unknown>;
  for (const [k, b] of Object.entries(META_BOUNDS)) {
    const v = m[k];
    if (v === undefined && !b.required) continue;
    if (v === undefined) throw fail(`meta.${k} is missing, expected ${b.range}`);
    if (!b.ok(v, m)) throw fail(`meta.${k} is ${JSON.stringify(v)?.slice(0, 80)}, expected ${b.range}`);
  }
  if (m.inference !== undefined) {
    const problem = inferenceSettingsProblem(m.inference);
    if (problem) throw fail(`meta.inference: ${problem}`);
  }
}

const corrupt = 'the checkpoint metadata is damaged or was not written by melseg: use another checkpoint, or retrain';

function parseJson(metadata: Record<string, string>, key: string, fail: (msg: string) => Error): unknown {
  try {
    return parseJsonText(metadata[key], `the "${key}" metadata`, 'the checkpoint is corrupted: use an earlier checkpoint or re-run training');
  } catch (e) {
    throw fail((e as Error).message);
  }
}

/** What the JSON header of a checkpoint says, without any tensor bytes. */
export interface CheckpointHeader {
  meta: CheckpointMeta;
  trainerState?: unknown;
  /** AdamW step count (only in checkpoints saved with moments). */
  optimizerStep?: number;
  /** Every tensor in the file: name, file dtype, shape. */
  tensors: { name: string; dtype: string; shape: number[] }[];
  /** The raw `__metadata__` string map. */
  metadata: Record<string, string>;
}

function headerOf(h: SafetensorsHeader, file: string): CheckpointHeader {
  const fail = (msg: string) => new Error(`${file}: ${msg}`);
  const { metadata } = h;
  if (metadata.melseg === undefined)
    throw fail(`not a melseg checkpoint: expected "melseg" metadata (model, loss, image size...), found metadata keys [${Object.keys(metadata).join(', ')}]. If this is a plain PyTorch state_dict, read its tensors with decodeSafetensors; otherwise pass a checkpoint written by melseg training`);
  const meta = parseJson(metadata, 'melseg', fail);
  checkMeta(meta, (msg) => fail(`${msg}; ${corrupt}`));
  const out: CheckpointHeader = { meta, tensors: h.entries.map((e) => ({ name: e.name, dtype: e.dtype, shape: e.shape })), metadata };
  const nMoments = h.entries.filter((e) => e.name.startsWith(OPTIM_PREFIX)).length;
  if (metadata.optimizer !== undefined || nMoments > 0) {
    if (metadata.optimizer === undefined) throw fail(`found ${nMoments} optimizer tensors but no "optimizer" metadata (step count); the checkpoint is corrupted: use an earlier checkpoint`);
    const o = parseJson(metadata, 'optimizer', fail) as { step?: unknown };
    if (!o || typeof o !== 'object' || !Number.isSafeInteger(o.step) || (o.step as number) < 0)
      throw fail(`expected "optimizer" metadata {"step": <non-negative integer>}, found ${metadata.optimizer}; the checkpoint is corrupted`);
    out.optimizerStep = o.step as number;
  }
  if (metadata.trainer !== undefined) out.trainerState = parseJson(metadata, 'trainer', fail);
  return out;
}

export interface LoadOptions {
  /** Read the AdamW moments (default true). Inference needs only the weights: 1/3 of a last.ckpt. */
  optimizer?: boolean;
}

function readCheckpoint(src: ByteSource, file: string, opts: LoadOptions): Checkpoint {
  const h = readSafetensorsHeader(src, file);
  const head = headerOf(h, file);
  const fail = (msg: string) => new Error(`${file}: ${msg}`);
  for (const e of h.entries)
    if (e.name.startsWith(OPTIM_PREFIX) && !e.name.startsWith(M_PREFIX) && !e.name.startsWith(V_PREFIX))
      throw fail(`unknown optimizer tensor "${e.name}" (expected "${M_PREFIX}<name>" or "${V_PREFIX}<name>"); this checkpoint was written by a newer melseg: upgrade melseg`);
  const withMoments = opts.optimizer !== false;
  const tensors = readSafetensorsTensors(src, h, (name) => withMoments || !name.startsWith(OPTIM_PREFIX));

  const params: Record<string, SafeTensor> = {};
  const m: Record<string, Float32Array> = {};
  const v: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(tensors)) {
    const slot = name.startsWith(M_PREFIX) ? m : name.startsWith(V_PREFIX) ? v : undefined;
    if (slot) {
      if (!(t.data instanceof Float32Array)) throw fail(`optimizer tensor "${name}" must be F32, found ${t.dtype}; the checkpoint is corrupted`);
      slot[name.slice(M_PREFIX.length)] = t.data;
    } else {
      params[name] = t;
    }
  }
  const ck: Checkpoint = { meta: head.meta, params, source: file };
  if (withMoments && head.optimizerStep !== undefined) {
    const onlyM = Object.keys(m).filter((k) => !Object.hasOwn(v, k));
    const onlyV = Object.keys(v).filter((k) => !Object.hasOwn(m, k));
    if (onlyM.length || onlyV.length)
      throw fail(`optimizer moments are unpaired: m without v for [${onlyM.join(', ')}], v without m for [${onlyV.join(', ')}]; the checkpoint is corrupted: use an earlier checkpoint`);
    ck.optimizer = { step: head.optimizerStep, m, v };
  }
  if (head.trainerState !== undefined) ck.trainerState = head.trainerState;
  return ck;
}

/** Parse checkpoint bytes held in memory; `file` is named in errors. */
export function decodeCheckpoint(bytes: Uint8Array, file: string, opts: LoadOptions = {}): Checkpoint {
  return readCheckpoint(bytesSource(bytes), file, opts);
}

/**
 * Read a checkpoint written by {@link saveCheckpoint}. The file is read tensor by tensor, each
 * straight into its own buffer, so files over 2 GiB load (fs.readFileSync stops at 2 GiB).
 */
export function loadCheckpoint(file: string, opts: LoadOptions = {}): Checkpoint {
  return withFileSource(file, 'checkpoint', (src) => readCheckpoint(src, file, opts));
}

/** The checkpoint's JSON header only (meta, trainer state, tensor list): kilobytes, whatever the file's size. */
export function readCheckpointHeader(file: string): CheckpointHeader {
  return withFileSource(file, 'checkpoint', (src) => headerOf(readSafetensorsHeader(src, file), file));
}

/** The first NaN or infinite value among the weights, then the AdamW moments; null when all are finite. */
export function firstNonFinite(ck: Checkpoint): { tensor: string; index: number; value: number } | null {
  const lists: [string, Float32Array][] = [];
  for (const name of Object.keys(ck.params).sort()) {
    const d = ck.params[name].data;
    if (d instanceof Float32Array) lists.push([name, d]);
  }
  if (ck.optimizer) {
    for (const name of Object.keys(ck.optimizer.m).sort()) lists.push([M_PREFIX + name, ck.optimizer.m[name]]);
    for (const name of Object.keys(ck.optimizer.v).sort()) lists.push([V_PREFIX + name, ck.optimizer.v[name]]);
  }
  for (const [tensor, d] of lists) {
    for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return { tensor, index: i, value: d[i] };
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// compatibility
// ---------------------------------------------------------------------------------------------

export interface ExpectedModel {
  model: number;
  imageSize?: number;
  width?: number;
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

/**
 * Throw when `ck` cannot be loaded into the model described by `expected` + `paramShapes`
 * (state_dict name -> shape, in the model's order). Checks model id, width and image size (when
 * given), then every tensor: missing, different shape, or unexpected. `*.num_batches_tracked`
 * present in the checkpoint but absent from `paramShapes` is tolerated (ONNX graphs often drop it).
 * The error names the first mismatching tensor with expected vs found shape, and the fix.
 */
export function checkCompatible(ck: Checkpoint, expected: ExpectedModel, paramShapes: Record<string, number[]>, paramDtypes: Record<string, SafeTensor['dtype']> = {}): void {
  const src = ck.source ?? 'checkpoint';
  const { meta } = ck;
  const trainedWith = `model ${meta.model} (${meta.modelName}), width ${meta.width}, image size ${meta.imageSize}`;
  if (meta.model !== expected.model)
    throw new Error(`${src} was trained with ${trainedWith}, but model ${expected.model} was requested; select model ${meta.model} to use this checkpoint, or pick a checkpoint trained with model ${expected.model}`);
  if (expected.width !== undefined && meta.width !== expected.width)
    throw new Error(`${src} was trained with ${trainedWith}, but width ${expected.width} was requested; set width ${meta.width} to use this checkpoint, or pick a checkpoint trained with width ${expected.width}`);
  if (expected.imageSize !== undefined && meta.imageSize !== expected.imageSize)
    throw new Error(`${src} was trained with ${trainedWith}, but image size ${expected.imageSize} was requested; set image size ${meta.imageSize} to use this checkpoint, or pick a checkpoint trained at ${expected.imageSize}`);

  const names = Object.keys(paramShapes);
  const missing: string[] = [];
  const differ: string[] = [];
  for (const name of names) {
    const t = Object.hasOwn(ck.params, name) ? ck.params[name] : undefined;
    if (!t) missing.push(name);
    else if (!sameShape(t.shape, paramShapes[name])) differ.push(name);
  }
  const unexpected = Object.keys(ck.params).filter((n) => !Object.hasOwn(paramShapes, n) && !n.endsWith('.num_batches_tracked'));
  if (!missing.length && !differ.length && !unexpected.length) {
    const file = { float32: 'F32', int64: 'I64' } as const;
    const wrong = names.filter((n) => paramDtypes[n] !== undefined && ck.params[n].dtype !== paramDtypes[n]);
    if (!wrong.length) return;
    const n0 = wrong[0];
    throw new Error(
      `${src}: tensor "${n0}" is stored as ${file[ck.params[n0].dtype]} but the model expects ${file[paramDtypes[n0]]}` +
        (wrong.length > 1 ? ` (${wrong.length} tensors have the wrong dtype)` : '') +
        '; the file was not written by melseg or was converted wrongly: convert the PyTorch weights with `melseg import` (it converts F16, BF16 and F64 to F32), or use another checkpoint',
    );
  }

  // "First" = first in the model's parameter order; an unexpected tensor only if nothing else.
  const firstBad = names.find((n) => missing.includes(n) || differ.includes(n));
  let first: string;
  if (firstBad && differ.includes(firstBad))
    first = `tensor "${firstBad}" has shape ${fmt(ck.params[firstBad].shape)} in the checkpoint but the model expects ${fmt(paramShapes[firstBad])}`;
  else if (firstBad) first = `tensor "${firstBad}" (shape ${fmt(paramShapes[firstBad])}) is missing from the checkpoint`;
  else first = `tensor "${unexpected[0]}" (shape ${fmt(ck.params[unexpected[0]].shape)}) is in the checkpoint but not in the model`;
  const counts = `${differ.length} of ${names.length} tensors differ in shape, ${missing.length} missing, ${unexpected.length} unexpected`;
  throw new Error(
    `${src} does not fit the model: ${first} (${counts}). The checkpoint records ${trainedWith}, so it was probably saved by a different model definition ` +
      `or melseg version; use the melseg version and model settings it was trained with, or train from scratch without it.`,
  );
}
