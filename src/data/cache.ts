/**
 * On-disk cache of decoded datasets, so that 2000 photos are decoded once.
 *
 * Key: sha256 of (format version, what is stored: layout, size, JPEG decoder, ...; every source
 * file's path, byte size and mtime), so editing, adding or removing a file, or changing the size,
 * selects a new cache file.
 * File: 8-byte magic `MELSEGDS`, uint32 LE format version, uint32 LE header length, the header
 * (UTF-8 JSON: the caller's fields, `key`, and `blocks`, the byte length of each block), then the
 * blocks back to back. Each block is read into its own SharedArrayBuffer, so worker threads share
 * it without copying. Written through writeFileAtomic (temp file, verified, renamed), so readers
 * never see a partial file.
 */
import { createHash } from 'crypto';
import { promises as fsp } from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../util/atomic';

const MAGIC = 'MELSEGDS';
/** Bump when the decoding, resizing or file format changes, so old caches are not reused. */
export const CACHE_VERSION = 2;
const PREFIX = 16;

export interface SourceFile {
  path: string;
  size: number;
  mtimeMs: number;
}

export async function statSources(paths: string[]): Promise<SourceFile[]> {
  return Promise.all(
    paths.map(async (p) => {
      const s = await fsp.stat(p);
      return { path: p, size: s.size, mtimeMs: s.mtimeMs };
    }),
  );
}

/** `what` describes the stored content (layout, size, decoder, ...); any change gives a new key. */
export function cacheKey(what: Record<string, unknown>, sources: SourceFile[]): string {
  const sorted = [...sources].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const h = createHash('sha256');
  h.update(JSON.stringify({ v: CACHE_VERSION, ...what }));
  for (const s of sorted) h.update(`\n${s.path}\t${s.size}\t${s.mtimeMs}`);
  return h.digest('hex');
}

/** `<dir>/<name>-<first 24 hex digits of the key>.bin`; `name` says what it holds (e.g. `isic-128`). */
export function cacheFile(dir: string, name: string, key: string): string {
  return path.join(dir, `${name}-${key.slice(0, 24)}.bin`);
}

async function readExactly(fh: fsp.FileHandle, into: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const chunk = Math.min(into.length - done, 1 << 30);
    const { bytesRead } = await fh.read(into, done, chunk, position + done);
    if (bytesRead === 0) throw new Error('unexpected end of file');
    done += bytesRead;
  }
}

export interface CacheContent<H> {
  header: H;
  /** One SharedArrayBuffer-backed array per block, in file order. */
  blocks: Uint8Array[];
}

/**
 * Loads a cache file. Returns null when it is absent, from another format version, truncated, or
 * for another key (a cache miss: the caller re-decodes).
 */
export async function readCache<H extends object>(file: string, key: string): Promise<CacheContent<H> | null> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch {
    return null;
  }
  try {
    const { size: fileSize } = await fh.stat();
    if (fileSize < PREFIX) return null;
    const prefix = Buffer.alloc(PREFIX);
    await readExactly(fh, prefix, 0);
    if (prefix.toString('latin1', 0, 8) !== MAGIC || prefix.readUInt32LE(8) !== CACHE_VERSION) return null;
    const headerLen = prefix.readUInt32LE(12);
    if (PREFIX + headerLen > fileSize) return null;
    const headerBytes = Buffer.alloc(headerLen);
    await readExactly(fh, headerBytes, PREFIX);
    const header = JSON.parse(headerBytes.toString('utf8')) as H & { key: string; blocks: number[] };
    const lengths = header.blocks;
    if (header.key !== key || !Array.isArray(lengths) || !lengths.every((n) => Number.isSafeInteger(n) && n >= 0)) return null;
    if (fileSize !== PREFIX + headerLen + lengths.reduce((a, n) => a + n, 0)) return null;
    const blocks: Uint8Array[] = [];
    let at = PREFIX + headerLen;
    for (const n of lengths) {
      const b = new Uint8Array(new SharedArrayBuffer(n));
      await readExactly(fh, b, at);
      blocks.push(b);
      at += n;
    }
    const { key: _key, blocks: _blocks, ...rest } = header;
    return { header: rest as unknown as H, blocks };
  } catch {
    return null;
  } finally {
    await fh.close();
  }
}

/** Writes the cache file atomically and verified (src/util/atomic.ts). Throws a WriteError naming the file. */
export async function writeCache(file: string, key: string, header: object, blocks: readonly Uint8Array[]): Promise<void> {
  const json = Buffer.from(JSON.stringify({ ...header, key, blocks: blocks.map((b) => b.length) }), 'utf8');
  const prefix = Buffer.alloc(PREFIX);
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(CACHE_VERSION, 8);
  prefix.writeUInt32LE(json.length, 12);
  await writeFileAtomic(file, [prefix, json, ...blocks]);
}
