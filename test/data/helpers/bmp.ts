/**
 * Minimal BMP encoders for test fixtures (BITMAPINFOHEADER, uncompressed), covering what PH2 ships:
 * 1-bit palette masks, 24-bit images, and one 24-bit mask stored top-down (negative height).
 * Rows are padded to 4 bytes; bottom-up files store the last image row first.
 */

function header(width: number, height: number, bitsPerPixel: number, paletteSize: number, stride: number, topDown: boolean): Buffer {
  const offset = 14 + 40 + paletteSize * 4;
  const size = offset + stride * height;
  const b = Buffer.alloc(offset);
  b.write('BM', 0, 'latin1');
  b.writeUInt32LE(size, 2);
  b.writeUInt32LE(offset, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(width, 18);
  b.writeInt32LE(topDown ? -height : height, 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(bitsPerPixel, 28);
  b.writeUInt32LE(0, 30); // BI_RGB
  b.writeUInt32LE(stride * height, 34);
  b.writeInt32LE(2835, 38);
  b.writeInt32LE(2835, 42);
  b.writeUInt32LE(paletteSize, 46);
  return b;
}

/** 1-bit BMP, palette [black, white]; bits[y * width + x] = 1 is white. Bottom-up unless topDown. */
export function encodeBmp1(width: number, height: number, bits: Uint8Array, topDown = false): Buffer {
  const stride = (Math.ceil(width / 8) + 3) & ~3;
  const h = header(width, height, 1, 2, stride, topDown);
  h.writeUInt32LE(0x00000000, 54);
  h.writeUInt32LE(0x00ffffff, 58);
  const px = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const row = topDown ? y : height - 1 - y;
    for (let x = 0; x < width; x++) if (bits[y * width + x]) px[row * stride + (x >> 3)]! |= 0x80 >> (x & 7);
  }
  return Buffer.concat([h, px]);
}

/** 24-bit BMP from RGB HWC bytes (stored as BGR). Bottom-up unless topDown. */
export function encodeBmp24(width: number, height: number, rgb: Uint8Array, topDown = false): Buffer {
  const stride = (width * 3 + 3) & ~3;
  const h = header(width, height, 24, 0, stride, topDown);
  const px = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const row = topDown ? y : height - 1 - y;
    for (let x = 0; x < width; x++) {
      const o = row * stride + x * 3;
      const i = (y * width + x) * 3;
      px[o] = rgb[i + 2]!;
      px[o + 1] = rgb[i + 1]!;
      px[o + 2] = rgb[i]!;
    }
  }
  return Buffer.concat([h, px]);
}
