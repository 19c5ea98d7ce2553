/**
 * The safetensors file format (https://github.com/huggingface/safetensors), read and written
 * without Python, byte-compatible with the reference Rust implementation.
 *
 * Layout:
 *   bytes [0, 8)        N: the header length, unsigned 64-bit little-endian
 *   bytes [8, 8+N)      the header: UTF-8 JSON, starts with '{', padded at the end with spaces
 *                       (0x20) so that 8+N is a multiple of 8 (so every tensor's data starts
 *                       8-byte aligned when the buffer is mmapped):
 *                         { "__metadata__": { "<key>": "<string value>", ... },      (optional)
 *                           "<name>": { "dtype": "F32", "shape": [d0, d1, ...],
 *                                       "data_offsets": [begin, end] }, ... }
 *   bytes [8+N, EOF)    the byte buffer; each tensor is C-ordered, little-endian, at
 *                       buffer[begin, end) with end - begin = prod(shape) * sizeof(dtype).
 *                       The tensors tile the buffer exactly: sorted by offsets, the first begins at
 *                       0, each begins where the previous ended, the last ends at EOF.
 *
 * Writing follows the reference `serialize()`: tensors ordered by dtype, larger alignment first
 * (the reference sorts by its Dtype enum descending, so I64 comes before F32), then by name
 * (code-unit order, as Rust's String Ord on ASCII names); header keys in that same order, with
 * `__metadata__` first; compact JSON ("dtype", "shape", "data_offsets" in that order). Metadata keys
 * are sorted so the same input always gives the same bytes.
 *
 * Only the dtypes melseg trains with are supported: F32 <-> Float32Array and I64 <-> BigInt64Array
 * (state_dict's `num_batches_tracked`). Other valid safetensors dtypes are recognised and rejected
 * with a message saying how to convert them.
 */
import * as os from 'os';

export type SafeDType = 'float32' | 'int64';

export interface SafeTensor {
  dtype: SafeDType;
  shape: number[];
  data: Float32Array | BigInt64Array;
}

export interface DecodedSafetensors {
  tensors: Record<string, SafeTensor>;
  /** The `__metadata__` string map ({} when the file has none). */
  metadata: Record<string, string>;
}

/** What went wrong, for callers that branch on it (and tests). */
export type SafetensorsErrorCode =
  | 'TRUNCATED'
  | 'HEADER_TOO_LARGE'
  | 'BAD_HEADER'
  | 'BAD_JSON'
  | 'BAD_ENTRY'
  | 'BAD_OFFSETS'
  | 'DTYPE_SIZE_MISMATCH'
  | 'UNSUPPORTED_DTYPE'
  | 'TRAILING_BYTES'
  | 'BAD_INPUT';

export class SafetensorsError extends Error {
  constructor(
    readonly code: SafetensorsErrorCode,
    readonly source: string,
    message: string,
  ) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

/** The reference's header-size cap (MAX_HEADER_SIZE = 100 MB): larger means "not a safetensors file". */
export const MAX_HEADER_BYTES = 100_000_000;

/** Every dtype the format defines, with its element size in bytes (the reference's Dtype::size). */
const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};
/** Reference Dtype enum order (increasing alignment); the writer sorts by it, descending. */
const DTYPE_RANK: Record<SafeDType, number> = { float32: 11, int64: 13 };
const TO_FILE_DTYPE: Record<SafeDType, string> = { float32: 'F32', int64: 'I64' };
const FROM_FILE_DTYPE: Record<string, SafeDType> = { F32: 'float32', I64: 'int64' };
const TORCH_NAME: Record<string, string> = {
  BOOL: 'torch.bool', U8: 'torch.uint8', I8: 'torch.int8', I16: 'torch.int16', U16: 'uint16',
  F16: 'torch.float16', BF16: 'torch.bfloat16', I32: 'torch.int32', U32: 'uint32', F64: 'torch.float64',
  U64: 'uint64', F8_E5M2: 'torch.float8_e5m2', F8_E4M3: 'torch.float8_e4m3fn',
};

const LITTLE_ENDIAN_HOST = os.endianness() === 'LE';

/** Product of the dims; 1 for a scalar (shape []). */
function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Plain assignment would treat a key named "__proto__" specially; define it as an own property. */
function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function isDim(d: unknown): d is number {
  return typeof d === 'number' && Number.isSafeInteger(d) && d >= 0;
}

/** Code-unit string order (matches Rust's byte order for the ASCII names state_dicts use). */
function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// encode
// ---------------------------------------------------------------------------------------------

/**
 * Serialise tensors (+ optional string metadata) to safetensors bytes. Validates that every
 * tensor's element count equals prod(shape) and that its typed array matches its dtype.
 */
export function encodeSafetensors(
  tensors: Record<string, SafeTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const bad = (msg: string) => new SafetensorsError('BAD_INPUT', 'encodeSafetensors', msg);
  const names = Object.keys(tensors);
  for (const name of names) {
    const t = tensors[name];
    if (name === '__metadata__') throw bad(`a tensor cannot be named "__metadata__" (reserved for the metadata map); rename it`);
    if (name.length === 0) throw bad('a tensor has an empty name; give every tensor a state_dict-style name');
    if (!t || (t.dtype !== 'float32' && t.dtype !== 'int64'))
      throw bad(`tensor "${name}": expected dtype 'float32' or 'int64', found ${JSON.stringify(t?.dtype)}; convert the data first`);
    if (!Array.isArray(t.shape) || !t.shape.every(isDim))
      throw bad(`tensor "${name}": expected shape to be an array of non-negative integers, found ${JSON.stringify(t.shape)}`);
    const wantCtor = t.dtype === 'float32' ? Float32Array : BigInt64Array;
    if (!(t.data instanceof wantCtor))
      throw bad(`tensor "${name}": dtype '${t.dtype}' needs a ${wantCtor.name}, found ${t.data?.constructor?.name ?? typeof t.data}`);
    if (t.data.length !== numel(t.shape))
      throw bad(`tensor "${name}": shape [${t.shape.join(', ')}] holds ${numel(t.shape)} elements but the data has ${t.data.length}; fix the shape or the data`);
  }
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata))
      if (typeof v !== 'string') throw bad(`metadata "${k}": values must be strings, found ${typeof v}; JSON.stringify it first`);
  }

  // Buffer order = reference order: dtype alignment descending, then name.
  names.sort((a, b) => DTYPE_RANK[tensors[b].dtype] - DTYPE_RANK[tensors[a].dtype] || byName(a, b));

  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    const sorted: Record<string, string> = {};
    for (const k of Object.keys(metadata).sort(byName)) setOwn(sorted, k, metadata[k]);
    header.__metadata__ = sorted;
  }
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    const n = t.data.byteLength;
    setOwn(header, name, { dtype: TO_FILE_DTYPE[t.dtype], shape: t.shape, data_offsets: [offset, offset + n] });
    offset += n;
  }
  // JSON.stringify keeps insertion order for non-integer-like keys; a purely numeric tensor name
  // ("0") would be hoisted first by JS, which only changes header order, not validity.
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8; // header padded with spaces to a multiple of 8 bytes
  const n = json.length + pad;

  const out = new Uint8Array(8 + n + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + n);
  let pos = 8 + n;
  for (const name of names) {
    const d = tensors[name].data;
    writeLE(out, pos, d);
    pos += d.byteLength;
  }
  return out;
}

function writeLE(out: Uint8Array, pos: number, d: Float32Array | BigInt64Array): void {
  if (LITTLE_ENDIAN_HOST) {
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
    return;
  }
  const dv = new DataView(out.buffer, out.byteOffset);
  if (d instanceof Float32Array) for (let i = 0; i < d.length; i++) dv.setFloat32(pos + 4 * i, d[i], true);
  else for (let i = 0; i < d.length; i++) dv.setBigInt64(pos + 8 * i, d[i], true);
}

// ---------------------------------------------------------------------------------------------
// decode
// ---------------------------------------------------------------------------------------------

interface Entry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Parse safetensors bytes. `source` (usually the file path) is named in every error.
 * Strict: rejects truncated files, a header length beyond the file, non-UTF-8 or invalid JSON,
 * malformed entries, offsets that overlap / leave gaps / fall outside the file / leave trailing
 * bytes, byte ranges that don't match dtype x shape, and dtypes other than F32 / I64.
 * Tensor data is copied out, so the result does not keep `bytes` alive.
 */
export function decodeSafetensors(bytes: Uint8Array, source: string): DecodedSafetensors {
  const fail = (code: SafetensorsErrorCode, msg: string) => new SafetensorsError(code, source, `${source}: ${msg}`);
  const TRUNC_FIX = 'was the run killed while writing? Use the previous checkpoint (e.g. best.ckpt or an earlier epoch) or re-run training';

  if (bytes.length < 8)
    throw fail('TRUNCATED', `expected at least 8 bytes (the header length field), found ${bytes.length}; the file is truncated or empty: ${TRUNC_FIX}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = dv.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_BYTES))
    throw fail('HEADER_TOO_LARGE', `the header length field says ${n64} bytes, above the format's ${MAX_HEADER_BYTES}-byte limit; this is not a safetensors file (or its first 8 bytes are corrupted): check that you passed a .safetensors / .ckpt written by melseg or safetensors`);
  const n = Number(n64);
  if (8 + n > bytes.length)
    throw fail('TRUNCATED', `the header length field says ${n} bytes but only ${bytes.length - 8} follow it; the file is truncated (or not a safetensors file): ${TRUNC_FIX}`);

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    throw fail('BAD_HEADER', `expected a UTF-8 JSON header in bytes [8, ${8 + n}), found invalid UTF-8; the file is corrupted or not a safetensors file: re-create it`);
  }
  if (!text.startsWith('{'))
    throw fail('BAD_HEADER', `expected the header to start with '{', found ${JSON.stringify(text.slice(0, 16))}; this is not a safetensors file (or it is corrupted): re-create it`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw fail('BAD_JSON', `the header is not valid JSON (${(e as Error).message}); the file is corrupted: re-create it from a good copy`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    throw fail('BAD_JSON', `expected the header to be a JSON object, found ${Array.isArray(header) ? 'an array' : typeof header}; re-create the file`);

  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
        throw fail('BAD_ENTRY', `expected "__metadata__" to be an object of strings, found ${JSON.stringify(raw)}; re-create the file`);
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string')
          throw fail('BAD_ENTRY', `expected "__metadata__"."${k}" to be a string, found ${JSON.stringify(v)}; the format only allows string metadata`);
        setOwn(metadata, k, v);
      }
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (e === null || typeof e !== 'object' || Array.isArray(e))
      throw fail('BAD_ENTRY', `tensor "${name}": expected {dtype, shape, data_offsets}, found ${JSON.stringify(raw)}`);
    if (typeof e.dtype !== 'string')
      throw fail('BAD_ENTRY', `tensor "${name}": expected "dtype" to be a string such as "F32", found ${JSON.stringify(e.dtype)}`);
    if (!Array.isArray(e.shape) || !e.shape.every(isDim))
      throw fail('BAD_ENTRY', `tensor "${name}": expected "shape" to be an array of non-negative integers, found ${JSON.stringify(e.shape)}`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !isDim(off[0]) || !isDim(off[1]) || off[1] < off[0])
      throw fail('BAD_OFFSETS', `tensor "${name}": expected "data_offsets" to be [begin, end] with 0 <= begin <= end, found ${JSON.stringify(off)}; the header is corrupted: re-create the file`);
    entries.push({ name, dtype: e.dtype, shape: e.shape as number[], begin: off[0], end: off[1] });
  }

  // dtype checks before layout checks, so a foreign file gets the most useful message.
  for (const e of entries) {
    if (!Object.hasOwn(DTYPE_BYTES, e.dtype))
      throw fail('UNSUPPORTED_DTYPE', `tensor "${e.name}": unknown dtype "${e.dtype}" (the format defines ${Object.keys(DTYPE_BYTES).join(', ')}); the file is corrupted or from a newer safetensors: re-save it with F32 / I64 tensors`);
    if (!Object.hasOwn(FROM_FILE_DTYPE, e.dtype))
      throw fail('UNSUPPORTED_DTYPE', `tensor "${e.name}": dtype ${e.dtype} is not supported (melseg reads F32 and I64 only); convert before saving, e.g. in PyTorch: {k: (v.float() if v.is_floating_point() else v.long()) for k, v in sd.items()} (found ${TORCH_NAME[e.dtype] ?? e.dtype})`);
    const want = numel(e.shape) * DTYPE_BYTES[e.dtype];
    if (e.end - e.begin !== want)
      throw fail('DTYPE_SIZE_MISMATCH', `tensor "${e.name}": ${e.dtype} with shape [${e.shape.join(', ')}] needs ${numel(e.shape)} x ${DTYPE_BYTES[e.dtype]} = ${want} bytes, but data_offsets [${e.begin}, ${e.end}] span ${e.end - e.begin}; the header is corrupted: re-create the file`);
  }

  // Layout: sorted by offsets the ranges must tile [0, bufferLength) exactly (reference validate()).
  const bufferLength = bytes.length - 8 - n;
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expectedBegin = 0;
  let prev: Entry | undefined;
  for (const e of entries) {
    if (e.begin < expectedBegin)
      throw fail('BAD_OFFSETS', `tensor "${e.name}" at bytes [${e.begin}, ${e.end}) overlaps tensor "${prev!.name}" at [${prev!.begin}, ${prev!.end}); expected it to start at ${expectedBegin}. The header is corrupted: re-create the file`);
    if (e.begin > expectedBegin)
      throw fail('BAD_OFFSETS', `tensor "${e.name}" starts at byte ${e.begin} but expected ${expectedBegin} (${prev ? `where "${prev.name}" ends` : 'the start of the buffer'}): ${e.begin - expectedBegin} bytes are not covered by any tensor. The header is corrupted: re-create the file`);
    expectedBegin = e.end;
    prev = e;
  }
  if (expectedBegin > bufferLength)
    throw fail('TRUNCATED', `the header describes ${expectedBegin} bytes of tensor data but the file holds only ${bufferLength} after the header (tensor "${prev!.name}" ends at ${prev!.end}); the file is truncated: ${TRUNC_FIX}`);
  if (expectedBegin < bufferLength)
    throw fail('TRAILING_BYTES', `the tensors cover ${expectedBegin} bytes of data but ${bufferLength} follow the header; ${bufferLength - expectedBegin} trailing bytes are not described by the header. The file was corrupted or appended to: re-create it`);

  const tensors: Record<string, SafeTensor> = {};
  const base = 8 + n;
  // Rebuild in name order so Object.keys() of the result is deterministic.
  for (const e of [...entries].sort((a, b) => byName(a.name, b.name))) {
    const dtype = FROM_FILE_DTYPE[e.dtype];
    const start = bytes.byteOffset + base + e.begin;
    const len = e.end - e.begin;
    let data: Float32Array | BigInt64Array;
    if (LITTLE_ENDIAN_HOST) {
      // ArrayBuffer.slice copies into a fresh, aligned buffer.
      const ab = bytes.buffer.slice(start, start + len) as ArrayBuffer;
      data = dtype === 'float32' ? new Float32Array(ab) : new BigInt64Array(ab);
    } else {
      const count = numel(e.shape);
      if (dtype === 'float32') {
        const f = new Float32Array(count);
        for (let i = 0; i < count; i++) f[i] = dv.getFloat32(base + e.begin + 4 * i, true);
        data = f;
      } else {
        const b = new BigInt64Array(count);
        for (let i = 0; i < count; i++) b[i] = dv.getBigInt64(base + e.begin + 8 * i, true);
        data = b;
      }
    }
    setOwn(tensors, e.name, { dtype, shape: [...e.shape], data });
  }
  return { tensors, metadata };
}
