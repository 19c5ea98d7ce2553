/**
 * On-disk cache of decoded, resized datasets, so that 2000 JPEGs are decoded once.
 *
 * Key: sha256 of (format version, layout, image size, every source file's path, byte size and
 * mtime), so editing, adding or removing a file, or changing the size, selects a new cache file.
 * File: 8-byte magic `MELSEGDS`, uint32 LE format version, uint32 LE header length, the header
 * (UTF-8 JSON: layout, root, ids, size, origSizes, sources, key), then the N*S*S*3 image bytes and
 * the N*S*S mask bytes. Written to a temporary file in the same folder, then renamed, so readers
 * never see a partial file (rename is atomic within a file system).
 */
import { createHash, randomBytes } from 'crypto';
import { promises as fsp } from 'fs';
import * as path from 'path';
import type { Layout } from './layouts';

const MAGIC = 'MELSEGDS';
/** Bump when the decoding or resizing changes, so old caches are not reused. */
export const CACHE_VERSION = 1;
const PREFIX = 16;

export interface CachedDataset {
  layout: Layout;
  root: string;
  ids: string[];
  size: number;
  origSizes: [number, number][];
  sources: string[];
  images: Uint8Array;
  masks: Uint8Array;
}

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

export function cacheKey(layout: Layout, imageSize: number, sources: SourceFile[]): string {
  const sorted = [...sources].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const h = createHash('sha256');
  h.update(JSON.stringify({ v: CACHE_VERSION, layout, imageSize }));
  for (const s of sorted) h.update(`\n${s.path}\t${s.size}\t${s.mtimeMs}`);
  return h.digest('hex');
}

export function cacheFile(dir: string, layout: Layout, imageSize: number, key: string): string {
  return path.join(dir, `${layout}-${imageSize}-${key.slice(0, 24)}.bin`);
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

/**
 * Loads a cache file into SharedArrayBuffer-backed arrays. Returns null when it is absent, from
 * another format version, truncated, or for another key (a cache miss: the caller re-decodes).
 */
export async function readCache(file: string, key: string): Promise<CachedDataset | null> {
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
    const header = JSON.parse(headerBytes.toString('utf8')) as Omit<CachedDataset, 'images' | 'masks'> & { key: string };
    const n = header.ids.length;
    const plane = header.size * header.size;
    if (header.key !== key || fileSize !== PREFIX + headerLen + n * plane * 4) return null;
    const images = new Uint8Array(new SharedArrayBuffer(n * plane * 3));
    const masks = new Uint8Array(new SharedArrayBuffer(n * plane));
    await readExactly(fh, images, PREFIX + headerLen);
    await readExactly(fh, masks, PREFIX + headerLen + images.length);
    const { layout, root, ids, size, origSizes, sources } = header;
    return { layout, root, ids, size, origSizes, sources, images, masks };
  } catch {
    return null;
  } finally {
    await fh.close();
  }
}

/** Writes the cache file atomically (temporary file in the same folder + rename). */
export async function writeCache(file: string, key: string, ds: CachedDataset): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const { layout, root, ids, size, origSizes, sources } = ds;
  const header = Buffer.from(JSON.stringify({ layout, root, ids, size, origSizes, sources, key }), 'utf8');
  const prefix = Buffer.alloc(PREFIX);
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(CACHE_VERSION, 8);
  prefix.writeUInt32LE(header.length, 12);
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const fh = await fsp.open(tmp, 'w');
    try {
      for (const part of [prefix, header, ds.images, ds.masks]) {
        let done = 0;
        while (done < part.length) {
          const { bytesWritten } = await fh.write(part, done, Math.min(part.length - done, 1 << 30));
          done += bytesWritten;
        }
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw new Error(
      `Cannot write the dataset cache ${file}: ${(e as Error).message}. ` +
        'Fix: make the folder writable or pass another cacheDir (or cacheDir: null to disable caching).',
    );
  }
}
