/**
 * `--fp16`: an exported file with its weight tensors stored as float16 and one Cast to float32 each
 * in front of the graph, so the file is half the size and the network still computes in float32
 * (onnxruntime folds the Casts when it loads the file). Only the rounding of each weight to float16
 * (relative error <= 2^-11) changes the function.
 */
import { onnx } from 'onnx-proto';

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const FLOAT16 = onnx.TensorProto.DataType.FLOAT16;

/** Tensors of more values than this are converted: conv weights and wide biases, not shape constants or the normalisation. */
const MIN_VALUES = 16;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE binary16 bits of `x`, rounded to nearest, ties to even (subnormals included; overflow gives infinity). */
export function float16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // half subnormal: value / 2^-24 = (mant | 2^23) * 2^(e - 14)
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && half & 1)) half++;
    return sign | half;
  }
  // a carry out of the mantissa moves to the next exponent (or to infinity), which is the right rounding
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** The value of binary16 bits `h`. */
export function float16Value(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** `model` (a serialised ModelProto) with its float32 initializers of more than 16 values stored as float16. */
export function toFloat16Weights(model: Uint8Array): Uint8Array {
  const m = onnx.ModelProto.decode(model);
  const g = m.graph!;
  const casts: onnx.INodeProto[] = [];
  for (const t of g.initializer ?? []) {
    const count = (t.dims ?? []).reduce((a: number, d) => a * Number(d), 1);
    if (t.dataType !== FLOAT || count <= MIN_VALUES) continue;
    const raw = t.rawData!;
    const values = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    const half = new Uint16Array(values.length);
    for (let i = 0; i < values.length; i++) {
      half[i] = float16Bits(values[i]);
      if ((half[i] & 0x7c00) === 0x7c00)
        throw new Error(`--fp16: weight tensor '${t.name}' holds ${values[i]}, beyond float16's range (65504); export it without --fp16`);
    }
    const name = t.name!;
    t.name = `${name}_fp16`;
    t.dataType = FLOAT16;
    t.rawData = new Uint8Array(half.buffer);
    casts.push({ opType: 'Cast', domain: '', name: `Cast_${t.name}`, input: [t.name], output: [name], attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: FLOAT }] });
  }
  g.node = [...casts, ...(g.node ?? [])];
  return onnx.ModelProto.encode(m).finish();
}
