/**
 * PNG encoding of exact 8-bit pixels: grey for masks, as ISIC ships them, RGB for pictures. Written
 * directly (PNG spec: IHDR, one zlib IDAT, IEND) rather than through jimp, which first expands the
 * pixels to RGBA and copies them again: at the original size of a 64-megapixel photo that was several
 * full-size buffers. Here the only full-size buffers are the filtered rows (w*channels+1 bytes each)
 * and the compressed stream. Every row uses the Sub filter (x - the same channel one pixel left), which
 * turns a mask's flat runs and a photo's smooth gradients into runs of small values that deflate well.
 */
import { deflateSync } from 'zlib';
import { checkLength } from './check';

/** PNG colour types: 0 grey, 2 RGB. */
const COLOR_TYPE = { 1: 0, 3: 2 } as const;

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** CRC-32 (ISO 3309, as PNG uses it) of the chunk type and data. */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(parts: readonly Uint8Array[]): number {
  let c = 0xffffffff;
  for (const p of parts) for (let i = 0; i < p.length; i++) c = CRC_TABLE[(c ^ p[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer[] {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const tail = Buffer.alloc(4);
  tail.writeUInt32BE(crc32([head.subarray(4), data]), 0);
  return [head, Buffer.from(data.buffer, data.byteOffset, data.length), tail];
}

/** PNG of 8-bit pixels, `channels` 1 (grey) or 3 (RGB), row-major. */
export async function encodePng(pixels: Uint8Array, width: number, height: number, channels: 1 | 3): Promise<Buffer> {
  checkLength('encodePng pixels', pixels, width * height * channels, `${width}x${height}x${channels}`);
  const stride = width * channels;
  const rows = Buffer.alloc(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const o = y * (stride + 1);
    const p = y * stride;
    rows[o] = 1; // Sub
    for (let i = 0; i < stride; i++) rows[o + 1 + i] = (pixels[p + i] - (i >= channels ? pixels[p + i - channels] : 0)) & 0xff;
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = COLOR_TYPE[channels];
  // compression, filter method, interlace: 0, 0, none
  const idat = deflateSync(rows);
  return Buffer.concat([SIGNATURE, ...chunk('IHDR', ihdr), ...chunk('IDAT', idat), ...chunk('IEND', new Uint8Array(0))]);
}
