/**
 * The safetensors dtypes a PyTorch state_dict may hold, converted to the two melseg computes with:
 * weights and BatchNorm statistics to F32, num_batches_tracked to I64. A conversion is "exact" when
 * every value survives (F16 and BF16 are subsets of F32; small integers of I64), "rounds" for F64
 * (to the nearest F32, as PyTorch's .float() does). Anything else has no sensible meaning here
 * (integer weights, float counters, 8-bit floats) and is refused by the caller with the fix.
 */
import type { SafeDType } from '../checkpoint/safetensors';

export type Conversion = 'same' | 'exact' | 'rounds';

/** Bytes per element of the dtypes converted here. */
const BYTES: Record<string, number> = { F16: 2, BF16: 2, F32: 4, F64: 8, I8: 1, U8: 1, I16: 2, U16: 2, I32: 4, U32: 4, I64: 8, U64: 8 };

const TO_F32: Record<string, Conversion> = { F32: 'same', F16: 'exact', BF16: 'exact', F64: 'rounds' };
const TO_I64: Record<string, Conversion> = { I64: 'same', I32: 'exact', I16: 'exact', I8: 'exact', U32: 'exact', U16: 'exact', U8: 'exact', U64: 'exact' };

/** How a tensor of file dtype `from` becomes `to`, or null when it cannot. */
export function conversion(from: string, to: SafeDType): Conversion | null {
  const table = to === 'float32' ? TO_F32 : TO_I64;
  return Object.hasOwn(table, from) ? table[from] : null;
}

/** The file's name of a melseg dtype. */
export const FILE_DTYPE: Record<SafeDType, string> = { float32: 'F32', int64: 'I64' };

/** IEEE 754 binary16 bits -> number: sign, 5-bit exponent (bias 15), 10-bit fraction; subnormals at e = 0. */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return sign * f * 2 ** -24;
  if (e === 31) return f ? NaN : sign * Infinity;
  return sign * (1 + f / 1024) * 2 ** (e - 15);
}

/** Little-endian `bytes` of dtype `from` (a row of conversion()'s F32 table) as F32. */
export function toFloat32(from: string, bytes: Uint8Array): Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength / BYTES[from];
  const out = new Float32Array(n);
  if (from === 'F32') for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
  else if (from === 'F64') for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
  else if (from === 'F16') for (let i = 0; i < n; i++) out[i] = halfToNumber(dv.getUint16(2 * i, true));
  // bfloat16 is the top half of a float32's bits.
  else if (from === 'BF16') for (let i = 0; i < n; i++) out[i] = new Float32Array(Uint32Array.of(dv.getUint16(2 * i, true) << 16).buffer)[0];
  else throw new Error(`toFloat32: no conversion from ${from}`);
  return out;
}

/** Little-endian `bytes` of an integer dtype as I64; null when a U64 value exceeds 2^63 - 1. */
export function toInt64(from: string, bytes: Uint8Array): BigInt64Array | null {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength / BYTES[from];
  const out = new BigInt64Array(n);
  const read: Record<string, (i: number) => bigint> = {
    I64: (i) => dv.getBigInt64(8 * i, true),
    U64: (i) => dv.getBigUint64(8 * i, true),
    I32: (i) => BigInt(dv.getInt32(4 * i, true)),
    U32: (i) => BigInt(dv.getUint32(4 * i, true)),
    I16: (i) => BigInt(dv.getInt16(2 * i, true)),
    U16: (i) => BigInt(dv.getUint16(2 * i, true)),
    I8: (i) => BigInt(dv.getInt8(i)),
    U8: (i) => BigInt(dv.getUint8(i)),
  };
  const get = read[from];
  if (!get) throw new Error(`toInt64: no conversion from ${from}`);
  for (let i = 0; i < n; i++) {
    const v = get(i);
    if (v > 0x7fffffffffffffffn) return null;
    out[i] = v;
  }
  return out;
}
