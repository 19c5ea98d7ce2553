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
import * as fs from 'fs';
import * as path from 'path';
import { jsonDepth, MAX_JSON_DEPTH } from '../util/json';

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

// the host's byte order from memory, not os.endianness(): the web page bundles this file too
const LITTLE_ENDIAN_HOST = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

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

/** A tensor's name, dtype and shape: all the header needs (offsets follow from the shapes). */
export interface TensorSpec {
  name: string;
  dtype: SafeDType;
  shape: number[];
}

function bytesOf(t: { dtype: SafeDType; shape: readonly number[] }): number {
  return numel(t.shape) * DTYPE_BYTES[TO_FILE_DTYPE[t.dtype]];
}

/**
 * The first 8 + N bytes of the file (length field, then the padded JSON header) for tensors of
 * these specs, and the order their bytes must follow it in. Offsets are computed from the shapes
 * alone, so this is where files over 2 GiB get their > 2^31 offsets (plain JSON numbers, exact
 * up to 2^53).
 */
export function encodeSafetensorsHeader(specs: readonly TensorSpec[], metadata?: Record<string, string>): { head: Uint8Array; order: string[] } {
  const bad = (msg: string) => new SafetensorsError('BAD_INPUT', 'encodeSafetensors', msg);
  const seen = new Set<string>();
  for (const t of specs) {
    if (t.name === '__metadata__') throw bad(`a tensor cannot be named "__metadata__" (reserved for the metadata map); rename it`);
    if (typeof t.name !== 'string' || t.name.length === 0) throw bad('a tensor has an empty name; give every tensor a state_dict-style name');
    if (seen.has(t.name)) throw bad(`two tensors are named "${t.name}"; give every tensor its own name`);
    seen.add(t.name);
    if (t.dtype !== 'float32' && t.dtype !== 'int64')
      throw bad(`tensor "${t.name}": expected dtype 'float32' or 'int64', found ${JSON.stringify(t.dtype)}; convert the data first`);
    if (!Array.isArray(t.shape) || !t.shape.every(isDim))
      throw bad(`tensor "${t.name}": expected shape to be an array of non-negative integers, found ${JSON.stringify(t.shape)}`);
  }
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata))
      if (typeof v !== 'string') throw bad(`metadata "${k}": values must be strings, found ${typeof v}; JSON.stringify it first`);
  }

  // Buffer order = reference order: dtype alignment descending, then name.
  const sorted = [...specs].sort((a, b) => DTYPE_RANK[b.dtype] - DTYPE_RANK[a.dtype] || byName(a.name, b.name));

  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    const meta: Record<string, string> = {};
    for (const k of Object.keys(metadata).sort(byName)) setOwn(meta, k, metadata[k]);
    header.__metadata__ = meta;
  }
  let offset = 0;
  for (const t of sorted) {
    const n = bytesOf(t);
    setOwn(header, t.name, { dtype: TO_FILE_DTYPE[t.dtype], shape: t.shape, data_offsets: [offset, offset + n] });
    offset += n;
  }
  if (!Number.isSafeInteger(offset)) throw bad(`the tensors hold ${offset} bytes, beyond what a file offset can address exactly (2^53); split them into several files`);
  // JSON.stringify keeps insertion order for non-integer-like keys; a purely numeric tensor name
  // ("0") would be hoisted first by JS, which only changes header order, not validity.
  const json = new TextEncoder().encode(JSON.stringify(header)); // UTF-8, in Node and in the page
  const pad = (8 - (json.length % 8)) % 8; // header padded with spaces to a multiple of 8 bytes
  const n = json.length + pad;
  const head = new Uint8Array(8 + n);
  new DataView(head.buffer).setBigUint64(0, BigInt(n), true);
  head.set(json, 8);
  head.fill(0x20, 8 + json.length);
  return { head, order: sorted.map((t) => t.name) };
}

/**
 * Serialise tensors (+ optional string metadata) as a list of chunks written back to back: the
 * header, then each tensor's bytes. On a little-endian host each tensor chunk is a view of the
 * tensor's own memory, so a checkpoint of several GiB is never copied into one buffer. Validates
 * that every tensor's element count equals prod(shape) and that its typed array matches its dtype.
 */
export function encodeSafetensorsChunks(tensors: Record<string, SafeTensor>, metadata?: Record<string, string>): Uint8Array[] {
  const bad = (msg: string) => new SafetensorsError('BAD_INPUT', 'encodeSafetensors', msg);
  const specs: TensorSpec[] = [];
  for (const name of Object.keys(tensors)) {
    const t = tensors[name];
    if (!t || (t.dtype !== 'float32' && t.dtype !== 'int64'))
      throw bad(`tensor "${name}": expected dtype 'float32' or 'int64', found ${JSON.stringify(t?.dtype)}; convert the data first`);
    specs.push({ name, dtype: t.dtype, shape: t.shape });
  }
  const { head, order } = encodeSafetensorsHeader(specs, metadata);
  for (const name of order) {
    const t = tensors[name];
    const wantCtor = t.dtype === 'float32' ? Float32Array : BigInt64Array;
    if (!(t.data instanceof wantCtor))
      throw bad(`tensor "${name}": dtype '${t.dtype}' needs a ${wantCtor.name}, found ${t.data?.constructor?.name ?? typeof t.data}`);
    if (t.data.length !== numel(t.shape))
      throw bad(`tensor "${name}": shape [${t.shape.join(', ')}] holds ${numel(t.shape)} elements but the data has ${t.data.length}; fix the shape or the data`);
  }
  return [head, ...order.map((name) => leBytes(tensors[name].data))];
}

/** The same file as one buffer (small files, tests); large ones should be written as chunks. */
export function encodeSafetensors(tensors: Record<string, SafeTensor>, metadata?: Record<string, string>): Uint8Array {
  return concatChunks(encodeSafetensorsChunks(tensors, metadata));
}

export function concatChunks(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let pos = 0;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}

/** Little-endian bytes of a tensor: a view of its memory on a little-endian host, else a copy. */
function leBytes(d: Float32Array | BigInt64Array): Uint8Array {
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  const out = new Uint8Array(d.byteLength);
  const dv = new DataView(out.buffer);
  if (d instanceof Float32Array) for (let i = 0; i < d.length; i++) dv.setFloat32(4 * i, d[i], true);
  else for (let i = 0; i < d.length; i++) dv.setBigInt64(8 * i, d[i], true);
  return out;
}

// ---------------------------------------------------------------------------------------------
// decode
// ---------------------------------------------------------------------------------------------

/**
 * Where the bytes come from: a buffer in memory, or a file read piece by piece (a file over
 * 2 GiB cannot be read whole with fs.readFileSync). `read` fills `into` from byte `position`.
 */
export interface ByteSource {
  readonly size: number;
  read(into: Uint8Array, position: number): void;
}

export function bytesSource(bytes: Uint8Array): ByteSource {
  return { size: bytes.length, read: (into, position) => into.set(bytes.subarray(position, position + into.length)) };
}

/** Reads of at most 1 GiB each (a single read of 2 GiB or more fails with ERR_OUT_OF_RANGE). */
const READ_CHUNK = 1 << 30;

/** A ByteSource over an open file descriptor of `size` bytes, reading at most `chunk` bytes at a time. */
export function fdSource(fd: number, size: number, file: string, chunk = READ_CHUNK): ByteSource {
  return {
    size,
    read(into, position) {
      let done = 0;
      while (done < into.length) {
        const n = fs.readSync(fd, into, done, Math.min(chunk, into.length - done), position + done);
        if (n <= 0)
          throw new SafetensorsError('TRUNCATED', file, `${file}: the file ended at byte ${position + done} while reading up to ${position + into.length}; it changed or was truncated while being read: use the previous checkpoint`);
        done += n;
      }
    },
  };
}

/** One tensor's place in the file, as the header describes it (offsets relative to the data start). */
export interface TensorEntry {
  name: string;
  /** The file's dtype name (F32, I64, ...). */
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  metadata: Record<string, string>;
  /** Every tensor, in name order. */
  entries: TensorEntry[];
  /** File offset of the data buffer (8 + header length). */
  dataStart: number;
}

const TRUNC_FIX = 'was the run killed while writing? Use the previous checkpoint (e.g. best.ckpt or an earlier epoch) or re-run training';

/** Builds the error of one failed check, its message prefixed by the source. */
type Fail = (code: SafetensorsErrorCode, msg: string) => SafetensorsError;

/** The header's JSON value (not yet checked beyond being an object) and its length n. */
function readHeaderJson(src: ByteSource, fail: Fail): { header: Record<string, unknown>; n: number } {
  if (src.size < 8)
    throw fail('TRUNCATED', `expected at least 8 bytes (the header length field), found ${src.size}; the file is truncated or empty: ${TRUNC_FIX}`);
  const lengthField = new Uint8Array(8);
  src.read(lengthField, 0);
  const n64 = new DataView(lengthField.buffer).getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_BYTES))
    throw fail('HEADER_TOO_LARGE', `the header length field says ${n64} bytes, above the format's ${MAX_HEADER_BYTES}-byte limit; this is not a safetensors file (or its first 8 bytes are corrupted): check that you passed a .safetensors / .ckpt written by melseg or safetensors`);
  const n = Number(n64);
  if (8 + n > src.size)
    throw fail('TRUNCATED', `the header length field says ${n} bytes but only ${src.size - 8} follow it; the file is truncated (or not a safetensors file): ${TRUNC_FIX}`);
  const headerBytes = new Uint8Array(n);
  src.read(headerBytes, 8);

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw fail('BAD_HEADER', `expected a UTF-8 JSON header in bytes [8, ${8 + n}), found invalid UTF-8; the file is corrupted or not a safetensors file: re-create it`);
  }
  if (!text.startsWith('{'))
    throw fail('BAD_HEADER', `expected the header to start with '{', found ${JSON.stringify(text.slice(0, 16))}; this is not a safetensors file (or it is corrupted): re-create it`);
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH)
    throw fail('BAD_JSON', `the header is JSON nested more than ${MAX_JSON_DEPTH} levels deep, expected a flat object of tensor entries (2 levels); the file is corrupted or hostile: re-create it from a good copy`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw fail('BAD_JSON', `the header is not valid JSON (${(e as Error).message}); the file is corrupted: re-create it from a good copy`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    throw fail('BAD_JSON', `expected the header to be a JSON object, found ${Array.isArray(header) ? 'an array' : typeof header}; re-create the file`);
  return { header: header as Record<string, unknown>, n };
}

/** The string metadata and the well-formed tensor entries of a header object, in header order. */
function parseEntries(header: Record<string, unknown>, fail: Fail): { metadata: Record<string, string>; entries: TensorEntry[] } {
  const metadata: Record<string, string> = {};
  const entries: TensorEntry[] = [];
  for (const [name, raw] of Object.entries(header)) {
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
  return { metadata, entries };
}

/** Each entry's dtype is known (and F32 / I64 unless anyDtype) and its byte range fits dtype x shape. */
function checkDtypes(entries: readonly TensorEntry[], anyDtype: boolean, fail: Fail): void {
  for (const e of entries) {
    if (!Object.hasOwn(DTYPE_BYTES, e.dtype))
      throw fail('UNSUPPORTED_DTYPE', `tensor "${e.name}": unknown dtype "${e.dtype}" (the format defines ${Object.keys(DTYPE_BYTES).join(', ')}); the file is corrupted or from a newer safetensors: re-save it with F32 / I64 tensors`);
    if (!anyDtype && !Object.hasOwn(FROM_FILE_DTYPE, e.dtype))
      throw fail('UNSUPPORTED_DTYPE', `tensor "${e.name}": dtype ${e.dtype} is not supported (melseg reads F32 and I64 only); convert before saving, e.g. in PyTorch: {k: (v.float() if v.is_floating_point() else v.long()) for k, v in sd.items()} (found ${TORCH_NAME[e.dtype] ?? e.dtype})`);
    const want = numel(e.shape) * DTYPE_BYTES[e.dtype];
    if (e.end - e.begin !== want)
      throw fail('DTYPE_SIZE_MISMATCH', `tensor "${e.name}": ${e.dtype} with shape [${e.shape.join(', ')}] needs ${numel(e.shape)} x ${DTYPE_BYTES[e.dtype]} = ${want} bytes, but data_offsets [${e.begin}, ${e.end}] span ${e.end - e.begin}; the header is corrupted: re-create the file`);
  }
}

/** Sorted by offsets (in place), the ranges tile [0, bufferLength) exactly (reference validate()). */
function checkLayout(entries: TensorEntry[], bufferLength: number, fail: Fail): void {
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expectedBegin = 0;
  let prev: TensorEntry | undefined;
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
}

/**
 * Read and check the header only. Strict: rejects truncated files, a header length beyond the
 * file, non-UTF-8 or invalid JSON, malformed entries, offsets that overlap / leave gaps / fall
 * outside the file / leave trailing bytes, byte ranges that don't match dtype x shape, and dtypes
 * other than F32 / I64 (every dtype the format defines with `anyDtype`, for importers that convert
 * them). Nothing is allocated beyond the header, whose size was checked first.
 */
export function readSafetensorsHeader(src: ByteSource, source: string, opts: { anyDtype?: boolean } = {}): SafetensorsHeader {
  const fail: Fail = (code, msg) => new SafetensorsError(code, source, `${source}: ${msg}`);
  const { header, n } = readHeaderJson(src, fail);
  const { metadata, entries } = parseEntries(header, fail);
  // dtype checks before layout checks, so a foreign file gets the most useful message.
  checkDtypes(entries, opts.anyDtype ?? false, fail);
  checkLayout(entries, src.size - 8 - n, fail);
  entries.sort((a, b) => byName(a.name, b.name));
  return { metadata, entries, dataStart: 8 + n };
}

/**
 * Read the tensors a checked header describes, each into its own aligned buffer straight from the
 * source (no whole-file buffer). `keep` selects tensors by name (default: all); the others are not
 * read. The result is in name order.
 */
export function readSafetensorsTensors(src: ByteSource, h: SafetensorsHeader, keep: (name: string) => boolean = () => true): Record<string, SafeTensor> {
  const tensors: Record<string, SafeTensor> = {};
  for (const e of h.entries) {
    if (!keep(e.name)) continue;
    const dtype = FROM_FILE_DTYPE[e.dtype];
    const raw = new Uint8Array(e.end - e.begin);
    src.read(raw, h.dataStart + e.begin);
    let data: Float32Array | BigInt64Array;
    if (LITTLE_ENDIAN_HOST) data = dtype === 'float32' ? new Float32Array(raw.buffer) : new BigInt64Array(raw.buffer);
    else {
      const dv = new DataView(raw.buffer);
      const count = numel(e.shape);
      if (dtype === 'float32') {
        const f = new Float32Array(count);
        for (let i = 0; i < count; i++) f[i] = dv.getFloat32(4 * i, true);
        data = f;
      } else {
        const b = new BigInt64Array(count);
        for (let i = 0; i < count; i++) b[i] = dv.getBigInt64(8 * i, true);
        data = b;
      }
    }
    setOwn(tensors, e.name, { dtype, shape: [...e.shape], data });
  }
  return tensors;
}

/**
 * Parse safetensors bytes held in memory. `source` (usually the file path) is named in every
 * error; see readSafetensorsHeader for what is rejected. Tensor data is copied out, so the result
 * does not keep `bytes` alive.
 */
export function decodeSafetensors(bytes: Uint8Array, source: string, keep?: (name: string) => boolean): DecodedSafetensors {
  const src = bytesSource(bytes);
  const h = readSafetensorsHeader(src, source);
  return { tensors: readSafetensorsTensors(src, h, keep), metadata: h.metadata };
}

/**
 * Open `file` and hand a ByteSource over it to `use`, closing it afterwards. Works for files of any
 * size (positional reads of at most 1 GiB). Errors name the file and the fix.
 */
export function withFileSource<T>(file: string, what: string, use: (src: ByteSource) => T): T {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new Error(`${what} ${file} not found; check the path (training writes last.ckpt / best.ckpt in the run directory)`);
    if (err.code === 'EISDIR') throw new Error(`${what} ${file} is a directory; pass the checkpoint file inside it (e.g. ${path.join(file, 'last.ckpt')})`);
    throw new Error(`cannot read ${what} ${file} (${err.code ?? 'error'}: ${err.message}); check the path and its permissions`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) throw new Error(`${what} ${file} is a directory; pass the checkpoint file inside it (e.g. ${path.join(file, 'last.ckpt')})`);
    return use(fdSource(fd, st.size, file));
  } finally {
    fs.closeSync(fd);
  }
}
