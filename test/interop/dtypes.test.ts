/** Conversions of a foreign state_dict's dtypes to melseg's F32 / I64, on known bit patterns. */
import { conversion, toFloat32, toInt64 } from '../../src/interop/dtypes';

function le(bytesPer: number, values: number[], write: (dv: DataView, i: number, v: number) => void): Uint8Array {
  const b = new Uint8Array(bytesPer * values.length);
  const dv = new DataView(b.buffer);
  values.forEach((v, i) => write(dv, i, v));
  return b;
}

test('F16 bit patterns decode to their IEEE values, subnormals, infinities and NaN included', () => {
  const bits = [0x3c00, 0xc000, 0x7bff, 0x0400, 0x0001, 0x3555, 0x8000, 0x7c00, 0xfc00, 0x7e00];
  const got = toFloat32('F16', le(2, bits, (dv, i, v) => dv.setUint16(2 * i, v, true)));
  expect(Array.from(got.subarray(0, 7))).toEqual([1, -2, 65504, 2 ** -14, 2 ** -24, 0.333251953125, -0]);
  expect(Object.is(got[6], -0)).toBe(true);
  expect(got[7]).toBe(Infinity);
  expect(got[8]).toBe(-Infinity);
  expect(got[9]).toBeNaN();
});

test('BF16 is the top half of a float32 and F64 rounds to the nearest float32', () => {
  expect(Array.from(toFloat32('BF16', le(2, [0x3f80, 0xc049, 0x0001], (dv, i, v) => dv.setUint16(2 * i, v, true))))).toEqual([1, -3.140625, 2 ** -133]);
  const f64 = toFloat32('F64', le(8, [0.1, -1e-3, 3e38], (dv, i, v) => dv.setFloat64(8 * i, v, true)));
  expect(Array.from(f64)).toEqual([Math.fround(0.1), Math.fround(-1e-3), Math.fround(3e38)]);
  expect(toFloat32('F64', le(8, [1e39], (dv, i, v) => dv.setFloat64(8 * i, v, true)))[0]).toBe(Infinity);
});

test('integer counters widen to I64; a U64 beyond 2^63 - 1 cannot', () => {
  expect(Array.from(toInt64('I32', le(4, [-5, 7], (dv, i, v) => dv.setInt32(4 * i, v, true)))!)).toEqual([-5n, 7n]);
  expect(Array.from(toInt64('U8', Uint8Array.of(255, 0))!)).toEqual([255n, 0n]);
  const big = new Uint8Array(8);
  new DataView(big.buffer).setBigUint64(0, 2n ** 63n, true);
  expect(toInt64('U64', big)).toBeNull();
});

test('which conversions exist: floats to F32 (F64 rounds), integers to I64, nothing across', () => {
  expect(conversion('F32', 'float32')).toBe('same');
  expect(conversion('F16', 'float32')).toBe('exact');
  expect(conversion('BF16', 'float32')).toBe('exact');
  expect(conversion('F64', 'float32')).toBe('rounds');
  expect(conversion('I64', 'int64')).toBe('same');
  expect(conversion('I32', 'int64')).toBe('exact');
  for (const d of ['I8', 'U8', 'I64', 'BOOL', 'F8_E4M3']) expect(conversion(d, 'float32')).toBeNull();
  for (const d of ['F32', 'F64', 'BOOL']) expect(conversion(d, 'int64')).toBeNull();
});
