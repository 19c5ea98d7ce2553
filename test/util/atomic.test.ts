import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { assertWritableDir, NAME_MAX, removeStaleTemps, writeFileAtomic, writeFileAtomicSync } from '../../src/util/atomic';
import { withFullDisk } from '../helpers/full-disk';

// the module object itself (what src reads through its import), so that spies reach it
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeFs: typeof fs = require('fs');

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-atomic-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('writeFileAtomic', () => {
  it('creates missing parent directories and writes bytes exactly', async () => {
    const file = path.join(dir, 'a', 'b', 'x.bin');
    const data = Uint8Array.of(0, 1, 2, 255);
    await writeFileAtomic(file, data);
    expect([...fs.readFileSync(file)]).toEqual([0, 1, 2, 255]);
  });

  it('writes a subarray view without the bytes around it', async () => {
    const file = path.join(dir, 'view.bin');
    await writeFileAtomic(file, Uint8Array.of(9, 1, 2, 9).subarray(1, 3));
    expect([...fs.readFileSync(file)]).toEqual([1, 2]);
  });

  it('replaces an existing file and leaves no temp files behind', async () => {
    const file = path.join(dir, 'last.ckpt');
    await writeFileAtomic(file, 'old');
    await writeFileAtomic(file, 'néw');
    expect(fs.readFileSync(file, 'utf8')).toBe('néw');
    expect(fs.readdirSync(dir)).toEqual(['last.ckpt']);
  });

  it('on failure names the file, keeps the target untouched and cleans up its temp file', async () => {
    const target = path.join(dir, 'busy');
    fs.mkdirSync(target); // rename over a directory fails
    fs.writeFileSync(path.join(target, 'keep'), 'k');
    await expect(writeFileAtomic(target, 'data')).rejects.toThrow(/could not write .*busy .*previous version of the file, if any, is untouched/);
    expect(fs.readdirSync(dir)).toEqual(['busy']);
    expect(fs.readFileSync(path.join(target, 'keep'), 'utf8')).toBe('k');
  });

  it('concurrent writes to one file end with one complete version', async () => {
    const file = path.join(dir, 'c.txt');
    const versions = Array.from({ length: 8 }, (_, i) => String(i).repeat(10000));
    await Promise.all(versions.map((v) => writeFileAtomic(file, v)));
    expect(versions).toContain(fs.readFileSync(file, 'utf8'));
    expect(fs.readdirSync(dir)).toEqual(['c.txt']);
  });
});

describe('writeFileAtomicSync', () => {
  it('creates parents and replaces the file', () => {
    const file = path.join(dir, 'deep', 'y.json');
    writeFileAtomicSync(file, '{"a":1}');
    writeFileAtomicSync(file, Uint8Array.from(Buffer.from('{"a":2}')));
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ a: 2 });
    expect(fs.readdirSync(path.join(dir, 'deep'))).toEqual(['y.json']);
  });

  it('names the file when the parent path is a regular file', () => {
    fs.writeFileSync(path.join(dir, 'f'), '');
    expect(() => writeFileAtomicSync(path.join(dir, 'f', 'x'), 'x')).toThrow(/could not write .*f\/x \((EEXIST|ENOTDIR)/);
  });
});

describe('verified writes', () => {
  it('loops over short writes until every byte is on disk', () => {
    const file = path.join(dir, 'short.bin');
    const real = fs.writeSync;
    // the kernel may write fewer bytes than asked (a nearly full disk does); at most 3 bytes a call here
    const spy = jest.spyOn(nodeFs, 'writeSync').mockImplementation(((fd: number, buf: Uint8Array, off: number, len: number) =>
      real(fd, buf, off, Math.min(len, 3))) as typeof fs.writeSync);
    try {
      writeFileAtomicSync(file, Uint8Array.from({ length: 20 }, (_, i) => i));
      expect(spy.mock.calls.length).toBe(7);
    } finally {
      spy.mockRestore();
    }
    expect([...fs.readFileSync(file)]).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('writes a list of chunks back to back, and buffers of 2 GiB or more in pieces under 2 GiB', () => {
    writeFileAtomicSync(path.join(dir, 'parts.bin'), [Uint8Array.of(1, 2), Uint8Array.of(), Uint8Array.of(3)]);
    expect([...fs.readFileSync(path.join(dir, 'parts.bin'))]).toEqual([1, 2, 3]);
    // 2^31 + 16 zero bytes: allocated lazily; writes are recorded, not performed
    const big = new Uint8Array(2 ** 31 + 16);
    const lengths: number[] = [];
    const w = jest.spyOn(nodeFs, 'writeSync').mockImplementation(((_fd: number, _b: Uint8Array, _o: number, len: number) => (lengths.push(len), len)) as typeof fs.writeSync);
    const s = jest.spyOn(nodeFs, 'fstatSync').mockReturnValue({ size: big.length } as fs.Stats);
    try {
      writeFileAtomicSync(path.join(dir, 'big.bin'), big);
    } finally {
      w.mockRestore();
      s.mockRestore();
    }
    expect(Math.max(...lengths)).toBeLessThan(2 ** 31);
    expect(lengths.reduce((a, b) => a + b, 0)).toBe(big.length);
  });

  it('on a full disk fails with ENOSPC, keeps the previous file and removes its temp file', async () => {
    await withFullDisk(async (full) => {
      const file = path.join(full, 'last.ckpt');
      writeFileAtomicSync(file, 'good');
      const tooBig = new Uint8Array(4 * 1024 * 1024).fill(7);
      expect(() => writeFileAtomicSync(file, tooBig)).toThrow(/could not write .*last\.ckpt \(ENOSPC.*the disk is full.*untouched/);
      expect(fs.readFileSync(file, 'utf8')).toBe('good');
      expect(fs.readdirSync(full)).toEqual(['last.ckpt']);
    });
  });
});

describe('assertWritableDir', () => {
  it('passes on a writable folder, leaving nothing behind, and names an unwritable one', () => {
    assertWritableDir(path.join(dir, 'new'), 'results folder');
    expect(fs.readdirSync(path.join(dir, 'new'))).toEqual([]);
    fs.writeFileSync(path.join(dir, 'file'), '');
    expect(() => assertWritableDir(path.join(dir, 'file', 'sub'), 'results folder')).toThrow(/results folder .*file\/sub is not writable \((EEXIST|ENOTDIR)/);
  });
});

describe('temp files', () => {
  it('a final name of NAME_MAX bytes gets a temp name the filesystem accepts', async () => {
    for (const name of ['a'.repeat(235) + '_mask.png', 'é'.repeat(120) + '.png', 'x'.repeat(NAME_MAX)]) {
      const file = path.join(dir, name);
      await writeFileAtomic(file, 'ok');
      expect(fs.readFileSync(file, 'utf8')).toBe('ok');
    }
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('removeStaleTemps removes the temp files of dead processes only', () => {
    const dead = 2 ** 22 + 12345; // above Linux's pid_max default: no such process
    const stale = `.last.ckpt.${dead}.0a1b2c3d.tmp`;
    const mine = `.best.ckpt.${process.pid}.0a1b2c3d.tmp`;
    const live = `.x.${process.ppid}.0a1b2c3d.tmp`;
    for (const n of [stale, mine, live, 'last.ckpt', '.notatemp']) fs.writeFileSync(path.join(dir, n), 'x');
    expect(removeStaleTemps(dir)).toEqual([stale]);
    expect(fs.readdirSync(dir).sort()).toEqual([mine, live, '.notatemp', 'last.ckpt'].sort());
  });
});
