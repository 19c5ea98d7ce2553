/** Recognising PyTorch pickles by their first bytes, and the refusal's commands. */
import { convertedName, pickleRefusal, shellQuote, sniffPickle } from '../../src/interop/pickle';
import { encodeSafetensors } from '../../src/checkpoint/safetensors';

/** A zip local file header whose first entry is `name`. */
function zipHead(name: string): Uint8Array {
  const b = Buffer.alloc(30 + name.length + 16);
  b.writeUInt32LE(0x04034b50, 0);
  b.writeUInt16LE(name.length, 26);
  b.write(name, 30, 'latin1');
  return b;
}

test("torch.save's zip format, its legacy pickle, and other zips are recognised", () => {
  expect(sniffPickle(zipHead('weights/data.pkl'))?.kind).toBe('torch-zip');
  expect(sniffPickle(zipHead('archive/data.pkl'))?.what).toMatch(/PyTorch zip checkpoint/);
  const npz = sniffPickle(zipHead('conv1.npy'));
  expect(npz?.kind).toBe('zip');
  expect(npz?.what).toContain('"conv1.npy"');
  const legacy = Uint8Array.of(0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8);
  expect(sniffPickle(legacy)).toEqual({ kind: 'pickle', what: expect.stringContaining('protocol 2') });
  expect(sniffPickle(Uint8Array.of(0x80, 0x05, 0x95, 0, 0, 0, 0, 0, 0, 0))?.kind).toBe('pickle');
});

test('a safetensors file is never taken for a pickle, even when its header length starts with 0x80 0x02', () => {
  const plain = encodeSafetensors({ w: { dtype: 'float32', shape: [2], data: Float32Array.of(1, 2) } });
  expect(sniffPickle(plain.subarray(0, 64))).toBeNull();
  const odd = new Uint8Array(64);
  odd.set([0x80, 0x02]);
  odd[8] = 0x7b; // '{': the JSON header starts at byte 8
  expect(sniffPickle(odd)).toBeNull();
  expect(sniffPickle(new Uint8Array(0))).toBeNull();
});

test('the refusal names the file and why, and its commands quote paths for the shell', () => {
  const e = pickleRefusal("/tmp/my weights's.pth", { kind: 'torch-zip', what: 'a PyTorch zip checkpoint' }, (f) => `melseg import --state-dict ${shellQuote(f)}`);
  const lines = e.message.split('\n');
  expect(lines[0]).toMatch(/^\/tmp\/my weights's\.pth is a PyTorch zip checkpoint; melseg never unpickles files/);
  expect(e.message).toContain(`python3 - '/tmp/my weights'\\''s.pth' '/tmp/my weights'\\''s.safetensors' <<'EOF'\nimport json, struct, sys, torch\n`);
  expect(lines).toContain('EOF'); // the heredoc's terminator alone on its line
  expect(lines[lines.length - 1]).toBe(`then: melseg import --state-dict '/tmp/my weights'\\''s.safetensors'`);
  expect(convertedName('a/b.pth')).toBe('a/b.safetensors');
  expect(convertedName('a/model.PT')).toBe('a/model.safetensors');
  expect(convertedName('a/weights')).toBe('a/weights.safetensors');
  expect(shellQuote('plain/path-1.pt')).toBe('plain/path-1.pt');
});
