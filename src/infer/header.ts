/**
 * An image's width and height from its header, before anything is decoded: predict works at the
 * original size, about 16 bytes per pixel at its peak (decoded RGB, the mask and its clean-up, the
 * overlay and its PNG rows; test/infer/predict-memory.test.ts), so a small file that declares a huge image (a 16000 x
 * 16000 PNG of 746 KB) is refused before it can exhaust memory.
 *
 *   PNG   IHDR: width, height as big-endian u32 at bytes 16, 20
 *   GIF   logical screen: little-endian u16 at 6, 8
 *   BMP   BITMAPINFOHEADER: little-endian i32 at 18, 22 (height negative when top-down)
 *   JPEG  the first SOFn marker segment: big-endian u16 height, width at its bytes 5, 7
 *   TIFF  not read here (null): its decoder's own limit applies
 */
import * as fs from 'fs';

/** Most pixels predict segments in one image: 10000 x 10000, peak RSS 1.55 GiB (dermoscopy photos are at most ~30 MP). */
export const MAX_PIXELS = 100_000_000;

function readAt(fd: number, pos: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  const got = fs.readSync(fd, b, 0, n, pos);
  return b.subarray(0, got);
}

function jpegSize(fd: number): { width: number; height: number } | null {
  let pos = 2;
  for (let k = 0; k < 10000; k++) {
    const m = readAt(fd, pos, 9);
    if (m.length < 4 || m[0] !== 0xff) return null;
    const marker = m[1];
    if (marker === 0xff) {
      pos += 1; // fill byte
      continue;
    }
    const len = m.readUInt16BE(2);
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC)
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return m.length < 9 ? null : { height: m.readUInt16BE(5), width: m.readUInt16BE(7) };
    }
    pos += 2 + len;
  }
  return null;
}

/** Width and height the file's header declares, or null when its format is not read here or the header is short. */
export function headerSize(file: string): { width: number; height: number } | null {
  const fd = fs.openSync(file, 'r');
  try {
    const h = readAt(fd, 0, 26);
    if (h.length >= 24 && h.readUInt32BE(0) === 0x89504e47) return { width: h.readUInt32BE(16), height: h.readUInt32BE(20) };
    if (h.length >= 10 && h.toString('latin1', 0, 3) === 'GIF') return { width: h.readUInt16LE(6), height: h.readUInt16LE(8) };
    if (h.length >= 26 && h.toString('latin1', 0, 2) === 'BM') return { width: Math.abs(h.readInt32LE(18)), height: Math.abs(h.readInt32LE(22)) };
    if (h.length >= 2 && h[0] === 0xff && h[1] === 0xd8) return jpegSize(fd);
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

/** Throws before decoding when `file` declares more than `max` pixels, naming its size and what to do. */
export function checkImageSize(file: string, max = MAX_PIXELS): void {
  const s = headerSize(file);
  if (!s || s.width * s.height <= max) return;
  throw new Error(
    `image ${file} is ${s.width} x ${s.height} (${(s.width * s.height / 1e6).toFixed(0)} megapixels); predict segments at most ${max / 1e6} megapixels ` +
      `(about 16 bytes a pixel at the original size): shrink it first, e.g. magick big.png -resize 10000x10000 smaller.png (ImageMagick)`,
  );
}
