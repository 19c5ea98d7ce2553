import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeFileAtomic, writeFileAtomicSync } from '../../src/util/atomic';

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
    await expect(writeFileAtomic(target, 'data')).rejects.toThrow(/could not write .*busy atomically .*previous version of the file, if any, is untouched/);
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
    expect(() => writeFileAtomicSync(path.join(dir, 'f', 'x'), 'x')).toThrow(/could not write .*f\/x atomically \((EEXIST|ENOTDIR)/);
  });
});
