/** PNG encoding of exact 8-bit pixels with jimp (pngjs): grey for masks, as ISIC ships them, RGB for pictures. */
import { Jimp } from 'jimp';
import { checkLength } from './check';

/** pngjs colour types. */
const COLOR_TYPE = { 1: 0, 3: 2 } as const;

/** PNG of 8-bit pixels, `channels` 1 (grey) or 3 (RGB), row-major. */
export async function encodePng(pixels: Uint8Array, width: number, height: number, channels: 1 | 3): Promise<Buffer> {
  checkLength('encodePng pixels', pixels, width * height * channels, `${width}x${height}x${channels}`);
  const rgba = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < 3; c++) rgba[i * 4 + c] = pixels[i * channels + (channels === 1 ? 0 : c)];
    rgba[i * 4 + 3] = 255;
  }
  return new Jimp({ width, height, data: rgba }).getBuffer('image/png', { colorType: COLOR_TYPE[channels] });
}
