import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  bytesSource,
  decodeSafetensors,
  encodeSafetensors,
  encodeSafetensorsChunks,
  encodeSafetensorsHeader,
  fdSource,
  readSafetensorsHeader,
  readSafetensorsTensors,
  SafetensorsError,
  type ByteSource,
  type SafeTensor,
} from '../../src/checkpoint/safetensors';
import { oracleTest, PY } from '../helpers/oracle';

const itPy = oracleTest('numpy');

const f32 = (shape: number[], values: number[]): SafeTensor => ({ dtype: 'float32', shape, data: Float32Array.from(values) });
const i64 = (shape: number[], values: bigint[]): SafeTensor => ({ dtype: 'int64', shape, data: BigInt64Array.from(values) });

/** Build a file from a raw header text (padded to 8 bytes like the writer) and data bytes. */
function craft(headerText: string, data: number[] | Uint8Array = [], declaredLength?: number): Uint8Array {
  const json = Buffer.from(headerText, 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  const n = json.length + pad;
  const out = Buffer.alloc(8 + n + data.length, 0x20);
  out.writeBigUInt64LE(BigInt(declaredLength ?? n), 0);
  json.copy(out, 8);
  Buffer.from(data).copy(out, 8 + n);
  return out;
}

function expectError(bytes: Uint8Array, code: string, ...fragments: RegExp[]): void {
  let err: unknown;
  try {
    decodeSafetensors(bytes, 'runs/x/last.ckpt');
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(SafetensorsError);
  const e = err as SafetensorsError;
  expect(e.code).toBe(code);
  expect(e.source).toBe('runs/x/last.ckpt');
  expect(e.message).toContain('runs/x/last.ckpt');
  for (const f of fragments) expect(e.message).toMatch(f);
}

describe('encodeSafetensors byte layout', () => {
  it('writes u64 header length, compact JSON (I64 before F32, then by name), space padding to 8, then LE data', () => {
    const bytes = encodeSafetensors({ a: f32([2], [1.5, -2]), z: i64([], [7n]) }, { format: 'pt' });
    const json =
      '{"__metadata__":{"format":"pt"},"z":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}';
    expect(json.length).toBe(138); // 138 + 6 spaces = 144 = 18 * 8
    expect([...bytes.subarray(0, 8)]).toEqual([144, 0, 0, 0, 0, 0, 0, 0]);
    expect(Buffer.from(bytes.subarray(8, 8 + 144)).toString('utf8')).toBe(json + '      ');
    expect([...bytes.subarray(152)]).toEqual([
      7, 0, 0, 0, 0, 0, 0, 0, // z = 7n, int64 LE
      0, 0, 0xc0, 0x3f, // 1.5f = 0x3FC00000
      0, 0, 0, 0xc0, // -2f = 0xC0000000
    ]);
    expect(bytes.length).toBe(8 + 144 + 16);
  });

  it('matches the reference implementation test vector (attn.0, F32 [1,2,3], 0..5)', () => {
    // From safetensors' Rust test_serialization: a 64-byte header, so no padding.
    const expected = [
      64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44,
      34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115, 101, 116, 115, 34,
      58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
    ];
    expect([...encodeSafetensors({ 'attn.0': f32([1, 2, 3], [0, 1, 2, 3, 4, 5]) })]).toEqual(expected);
  });

  it('writes an empty file as "{}" plus 6 spaces, like the reference', () => {
    expect([...encodeSafetensors({})]).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
  });

  it('sorts metadata keys so the same input always gives the same bytes', () => {
    const a = encodeSafetensors({ w: f32([1], [1]) }, { b: '2', a: '1' });
    const b = encodeSafetensors({ w: f32([1], [1]) }, { a: '1', b: '2' });
    expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).toBe(0);
  });

  it('rejects data whose length does not match the shape', () => {
    expect(() => encodeSafetensors({ w: f32([2, 2], [1, 2, 3]) })).toThrow(/shape \[2, 2\] holds 4 elements but the data has 3/);
  });

  it('rejects a typed array that does not match the dtype', () => {
    expect(() => encodeSafetensors({ w: { dtype: 'int64', shape: [1], data: new Float32Array(1) } })).toThrow(/needs a BigInt64Array, found Float32Array/);
  });
});

describe('decodeSafetensors round trip', () => {
  it('returns the same tensors, shapes, dtypes and metadata', () => {
    const tensors = {
      'enc.0.weight': f32([2, 1, 2, 2], [0.1, -0.2, 3e-8, 1e30, -0, 5, 6, 7]),
      'bn.num_batches_tracked': i64([], [123456789012345n]),
      'bn.running_var': f32([3], [1, 2, 3]),
      empty: f32([0, 4], []),
    };
    const out = decodeSafetensors(encodeSafetensors(tensors, { format: 'pt', note: 'héllo' }), 'mem');
    expect(out.metadata).toEqual({ format: 'pt', note: 'héllo' });
    expect(Object.keys(out.tensors)).toEqual(['bn.num_batches_tracked', 'bn.running_var', 'empty', 'enc.0.weight']);
    for (const [k, t] of Object.entries(tensors)) {
      expect(out.tensors[k].dtype).toBe(t.dtype);
      expect(out.tensors[k].shape).toEqual(t.shape);
      expect(out.tensors[k].data).toEqual(t.data);
    }
  });

  it('reads a file whose tensors are not in name order (any order the offsets say)', () => {
    const header = '{"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
    const out = decodeSafetensors(craft(header, [0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]), 'mem');
    expect(out.tensors.b.data).toEqual(Float32Array.of(1));
    expect(out.tensors.a.data).toEqual(Float32Array.of(2));
    expect(out.metadata).toEqual({});
  });

  it('decodes from a Buffer at an odd byte offset (copies into aligned arrays)', () => {
    const file = encodeSafetensors({ w: f32([3], [1, 2, 3]) });
    const big = Buffer.alloc(file.length + 3);
    Buffer.from(file).copy(big, 3);
    expect(decodeSafetensors(big.subarray(3), 'mem').tensors.w.data).toEqual(Float32Array.of(1, 2, 3));
  });
});

describe('decodeSafetensors corruption errors', () => {
  const good = () => encodeSafetensors({ a: f32([2], [1, 2]), b: f32([1], [3]) }, { format: 'pt' });

  it('file shorter than 8 bytes -> TRUNCATED', () => {
    expectError(new Uint8Array(5), 'TRUNCATED', /at least 8 bytes/, /found 5/, /killed while writing/);
  });

  it('header length beyond the file -> TRUNCATED', () => {
    const bytes = Buffer.from(good());
    bytes.writeBigUInt64LE(BigInt(bytes.length), 0);
    expectError(bytes, 'TRUNCATED', new RegExp(`says ${bytes.length} bytes but only ${bytes.length - 8} follow`), /previous checkpoint|re-run/);
  });

  it('absurd header length -> HEADER_TOO_LARGE (not a safetensors file)', () => {
    const bytes = Buffer.from(good());
    bytes.writeBigUInt64LE(2n ** 62n, 0);
    expectError(bytes, 'HEADER_TOO_LARGE', /not a safetensors file/);
  });

  it('tensor data cut off at the end -> TRUNCATED', () => {
    const bytes = good();
    expectError(bytes.subarray(0, bytes.length - 3), 'TRUNCATED', /describes 12 bytes of tensor data but the file holds only 9/, /killed while writing/);
  });

  it('header that is not JSON -> BAD_JSON', () => {
    expectError(craft('{"a":{"dtype":"F32",'), 'BAD_JSON', /not valid JSON/);
  });

  it('header nested 500k levels deep -> BAD_JSON naming the file, not a RangeError', () => {
    expectError(craft('{"a":' + '['.repeat(500_000) + ']'.repeat(500_000) + '}'), 'BAD_JSON', /nested more than 64 levels deep/);
  });

  it('header that does not start with { -> BAD_HEADER', () => {
    expectError(craft('["a"]'), 'BAD_HEADER', /start with '\{'/);
  });

  it('header that is not UTF-8 -> BAD_HEADER', () => {
    const bytes = craft('{"a":1}');
    bytes[10] = 0xff;
    expectError(bytes, 'BAD_HEADER', /invalid UTF-8/);
  });

  it('overlapping offsets -> BAD_OFFSETS naming both tensors', () => {
    const h = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}';
    expectError(craft(h, new Array(12).fill(0)), 'BAD_OFFSETS', /"b" at bytes \[4, 12\) overlaps tensor "a" at \[0, 8\)/);
  });

  it('a gap between tensors -> BAD_OFFSETS', () => {
    const h = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}';
    expectError(craft(h, new Array(12).fill(0)), 'BAD_OFFSETS', /"b" starts at byte 8 but expected 4/, /4 bytes are not covered/);
  });

  it('end before begin -> BAD_OFFSETS', () => {
    const h = '{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}';
    expectError(craft(h, [0, 0, 0, 0]), 'BAD_OFFSETS', /0 <= begin <= end, found \[4,0\]/);
  });

  it('bytes after the last tensor -> TRAILING_BYTES', () => {
    const h = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    expectError(craft(h, new Array(7).fill(0)), 'TRAILING_BYTES', /cover 4 bytes of data but 7 follow/);
  });

  it('byte range that does not match dtype x shape -> DTYPE_SIZE_MISMATCH', () => {
    const h = '{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}';
    expectError(craft(h, new Array(8).fill(0)), 'DTYPE_SIZE_MISMATCH', /needs 3 x 4 = 12 bytes/, /span 8/);
  });

  it('valid but unsupported dtype (F16) -> UNSUPPORTED_DTYPE with a conversion hint', () => {
    const h = '{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}';
    expectError(craft(h, [0, 0, 0, 0]), 'UNSUPPORTED_DTYPE', /F16 is not supported/, /v\.float\(\)/);
  });

  it('unknown dtype -> UNSUPPORTED_DTYPE', () => {
    const h = '{"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}';
    expectError(craft(h, [0, 0, 0, 0]), 'UNSUPPORTED_DTYPE', /unknown dtype "F33"/);
  });

  it('non-string metadata value -> BAD_ENTRY', () => {
    expectError(craft('{"__metadata__":{"epoch":3}}'), 'BAD_ENTRY', /"__metadata__"."epoch" to be a string/);
  });

  it('malformed shape -> BAD_ENTRY', () => {
    const h = '{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}';
    expectError(craft(h, [0, 0, 0, 0]), 'BAD_ENTRY', /non-negative integers, found \[-1\]/);
  });
});

describe('interop with an independent reader/writer', () => {
  itPy('python (struct + json + numpy) reads what melseg writes, and melseg reads what python writes', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-st-'));
    try {
      const ours = path.join(dir, 'ours.safetensors');
      const theirs = path.join(dir, 'theirs.safetensors');
      fs.writeFileSync(
        ours,
        encodeSafetensors(
          { 'b.weight': f32([2, 3], [0.1, -0.25, 1e-7, 3.4e38, -1, 2]), 'a.num_batches_tracked': i64([], [-5n]), c: f32([1], [0.3]) },
          { format: 'pt' },
        ),
      );
      const script = `
import json, struct, sys, numpy as np
DT = {'F32': '<f4', 'I64': '<i8'}
def read(p):
    b = open(p, 'rb').read()
    (n,) = struct.unpack('<Q', b[:8])
    h = json.loads(b[8:8 + n].decode('utf-8'))
    meta = h.pop('__metadata__', {})
    buf = b[8 + n:]
    out = {}
    for k, e in h.items():
        s, t = e['data_offsets']
        a = np.frombuffer(buf[s:t], dtype=DT[e['dtype']]).reshape(e['shape'])
        out[k] = {'dtype': e['dtype'], 'shape': list(a.shape), 'values': a.flatten().tolist(), 'begin': s}
    return {'n': n, 'meta': meta, 'tensors': out, 'header_start': b[8:9].decode(), 'size': len(b)}
ours = read(sys.argv[1])
# Write a file by hand, tensors deliberately NOT in name order.
ts = [('z', np.array([[1.5, -0.1]], dtype='<f4')), ('m', np.array([2**40, -3], dtype='<i8'))]
header, off, blobs = {'__metadata__': {'format': 'pt', 'who': 'python'}}, 0, []
for k, a in ts:
    raw = a.tobytes(); header[k] = {'dtype': 'F32' if a.dtype.kind == 'f' else 'I64', 'shape': list(a.shape), 'data_offsets': [off, off + len(raw)]}
    off += len(raw); blobs.append(raw)
hj = json.dumps(header).encode(); hj += b' ' * ((8 - len(hj) % 8) % 8)
open(sys.argv[2], 'wb').write(struct.pack('<Q', len(hj)) + hj + b''.join(blobs))
print(json.dumps({'ours': ours, 'z': [float(x) for x in ts[0][1].flatten()]}))
`;
      const r = spawnSync(PY, ['-c', script, ours, theirs], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
      const py = JSON.parse(r.stdout) as {
        ours: { n: number; meta: Record<string, string>; header_start: string; size: number; tensors: Record<string, { dtype: string; shape: number[]; values: number[]; begin: number }> };
        z: number[];
      };
      expect(py.ours.n % 8).toBe(0);
      expect(py.ours.header_start).toBe('{');
      expect(py.ours.meta).toEqual({ format: 'pt' });
      expect(py.ours.tensors['a.num_batches_tracked']).toEqual({ dtype: 'I64', shape: [], values: [-5], begin: 0 });
      expect(py.ours.tensors['b.weight'].shape).toEqual([2, 3]);
      expect(py.ours.tensors['b.weight'].values).toEqual([...Float32Array.from([0.1, -0.25, 1e-7, 3.4e38, -1, 2])]);
      expect(py.ours.tensors.c.values).toEqual([Math.fround(0.3)]);

      const back = decodeSafetensors(fs.readFileSync(theirs), theirs);
      expect(back.metadata).toEqual({ format: 'pt', who: 'python' });
      expect(back.tensors.z).toEqual({ dtype: 'float32', shape: [1, 2], data: Float32Array.from(py.z) });
      expect(back.tensors.m).toEqual({ dtype: 'int64', shape: [2], data: BigInt64Array.of(2n ** 40n, -3n) });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('files over 2 GiB', () => {
  const GiB = 2 ** 30;

  it('header offsets past 2^31 and 2^32 come from the shapes alone (no tensor data needed)', () => {
    const { head, order } = encodeSafetensorsHeader([
      { name: 'b', dtype: 'float32', shape: [2 ** 29] }, // 2 GiB
      { name: 'a', dtype: 'float32', shape: [2 ** 29] },
      { name: 'c', dtype: 'float32', shape: [3] },
    ]);
    expect(order).toEqual(['a', 'b', 'c']);
    const n = Number(Buffer.from(head).readBigUInt64LE(0));
    expect(head.length).toBe(8 + n);
    const header = JSON.parse(Buffer.from(head.subarray(8)).toString('utf8'));
    expect(header.a.data_offsets).toEqual([0, 2 * GiB]);
    expect(header.b.data_offsets).toEqual([2 * GiB, 4 * GiB]);
    expect(header.c.data_offsets).toEqual([4 * GiB, 4 * GiB + 12]);
  });

  /** A fake 4 GiB + 12 byte file: a 4 GiB tensor "big", then "c" = [1, 2, 3]; records every read. */
  function fakeHugeFile(): { src: ByteSource; reads: [number, number][] } {
    const { head } = encodeSafetensorsHeader([
      { name: 'big', dtype: 'float32', shape: [2 ** 30] },
      { name: 'c', dtype: 'float32', shape: [3] },
    ]);
    const cBytes = new Uint8Array(Float32Array.of(1, 2, 3).buffer);
    const cAt = head.length + 4 * GiB;
    const reads: [number, number][] = [];
    const src: ByteSource = {
      size: cAt + 12,
      read(into, position) {
        reads.push([position, into.length]);
        if (position + into.length <= head.length) into.set(head.subarray(position, position + into.length));
        else if (position === cAt && into.length === 12) into.set(cBytes);
        else throw new Error(`unexpected read of ${into.length} bytes at ${position}`);
      },
    };
    return { src, reads };
  }

  it('reading the header reads only the length field and the header', () => {
    const { src, reads } = fakeHugeFile();
    const h = readSafetensorsHeader(src, 'huge.safetensors');
    expect(h.entries.map((e) => [e.name, e.begin, e.end])).toEqual([['big', 0, 4 * GiB], ['c', 4 * GiB, 4 * GiB + 12]]);
    expect(reads).toEqual([[0, 8], [8, h.dataStart - 8]]);
  });

  it('a tensor past 2^32 is read from its own offset, and unselected tensors are not read at all', () => {
    const { src, reads } = fakeHugeFile();
    const h = readSafetensorsHeader(src, 'huge.safetensors');
    const t = readSafetensorsTensors(src, h, (name) => name !== 'big');
    expect(Object.keys(t)).toEqual(['c']);
    expect(t.c.data).toEqual(Float32Array.of(1, 2, 3));
    expect(reads[reads.length - 1]).toEqual([h.dataStart + 4 * GiB, 12]);
  });

  it('a file read in small pieces (looping over reads) gives the same tensors as its bytes in memory', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-st-'));
    try {
      const file = path.join(dir, 'x.safetensors');
      const tensors = { w: f32([2, 3], [1, 2, 3, 4, 5, 6]), n: i64([], [9n]) };
      const chunks = encodeSafetensorsChunks(tensors, { format: 'pt' });
      expect(chunks.length).toBe(3);
      fs.writeFileSync(file, Buffer.concat(chunks));
      const fd = fs.openSync(file, 'r');
      try {
        const src = fdSource(fd, fs.fstatSync(fd).size, file, 3);
        const fromFile = readSafetensorsTensors(src, readSafetensorsHeader(src, file));
        expect(fromFile).toEqual(decodeSafetensors(fs.readFileSync(file), file).tensors);
        expect(fromFile.w.data).toEqual(Float32Array.of(1, 2, 3, 4, 5, 6));
      } finally {
        fs.closeSync(fd);
      }
      // a file that shrinks under the reader is reported, not read as zeros
      const fd2 = fs.openSync(file, 'r');
      try {
        const lying = fdSource(fd2, fs.fstatSync(fd2).size + 8, file);
        expect(() => lying.read(new Uint8Array(16), fs.fstatSync(fd2).size - 8)).toThrow(/the file ended at byte .* use the previous checkpoint/);
      } finally {
        fs.closeSync(fd2);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('bytesSource reads like the file', () => {
    const bytes = encodeSafetensors({ w: f32([2], [7, 8]) });
    const src = bytesSource(bytes);
    expect(readSafetensorsTensors(src, readSafetensorsHeader(src, 'mem')).w.data).toEqual(Float32Array.of(7, 8));
  });
});
