/**
 * A minimal PNG encoder for fixtures jimp cannot write: 16-bit and 1-bit samples, grey + alpha,
 * RGBA with arbitrary alpha, palettes with transparency. Non-interlaced, filter type 0 on every
 * row, one IDAT chunk.
 */
import { deflateSync } from 'zlib';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), 8 + data.length);
  return out;
}

const COLOR_TYPE = { 1: 0, 2: 4, 3: 2, 4: 6 } as const;
const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function ihdr(width: number, height: number, depth: number, colorType: number): Buffer {
  const b = Buffer.alloc(13);
  b.writeUInt32BE(width, 0);
  b.writeUInt32BE(height, 4);
  b[8] = depth;
  b[9] = colorType;
  return chunk('IHDR', b);
}

/** Rows of `bits`-bit values (MSB first), each row preceded by filter byte 0. */
function packRows(width: number, height: number, perPixel: number, bits: 1 | 8, values: ArrayLike<number>): Buffer {
  const stride = Math.ceil((width * perPixel * bits) / 8);
  const raw = Buffer.alloc(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    for (let i = 0; i < width * perPixel; i++) {
      const v = values[y * width * perPixel + i]!;
      const o = y * (stride + 1) + 1;
      if (bits === 8) raw[o + i] = v;
      else if (v) raw[o + (i >> 3)]! |= 0x80 >> (i & 7);
    }
  }
  return raw;
}

/** 1-bit grey PNG: bits[y * width + x] = 1 is white. */
export function encodePng1(width: number, height: number, bits: ArrayLike<number>): Buffer {
  return Buffer.concat([SIGNATURE, ihdr(width, height, 1, 0), chunk('IDAT', deflateSync(packRows(width, height, 1, 1, bits))), chunk('IEND', new Uint8Array(0))]);
}

/** 8-bit palette PNG: `indices` into `palette` (RGB), with per-entry `alpha` (tRNS) when given. */
export function encodePalettePng(width: number, height: number, palette: [number, number, number][], indices: ArrayLike<number>, alpha?: number[]): Buffer {
  const parts = [SIGNATURE, ihdr(width, height, 8, 3), chunk('PLTE', Buffer.from(palette.flat()))];
  if (alpha) parts.push(chunk('tRNS', Buffer.from(alpha)));
  parts.push(chunk('IDAT', deflateSync(packRows(width, height, 1, 8, indices))), chunk('IEND', new Uint8Array(0)));
  return Buffer.concat(parts);
}

/**
 * PNG of width x height pixels with `channels` (1 grey, 2 grey + alpha, 3 RGB, 4 RGBA) samples
 * each, interleaved row-major in `samples`, stored with `depth` 8 or 16 bits per sample.
 */
export function encodePng(width: number, height: number, channels: 1 | 2 | 3 | 4, depth: 8 | 16, samples: ArrayLike<number>): Buffer {
  if (samples.length !== width * height * channels) throw new Error(`encodePng: expected ${width * height * channels} samples, got ${samples.length}`);
  const bytesPer = depth / 8;
  const stride = width * channels * bytesPer;
  const raw = Buffer.alloc(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    for (let i = 0; i < width * channels; i++) {
      const v = samples[y * width * channels + i]!;
      const o = y * (stride + 1) + 1 + i * bytesPer;
      if (depth === 16) raw.writeUInt16BE(v, o);
      else raw[o] = v;
    }
  }
  return Buffer.concat([SIGNATURE, ihdr(width, height, depth, COLOR_TYPE[channels]), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}
