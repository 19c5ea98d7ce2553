import { writeFileSync } from 'fs';
import * as path from 'path';
import { PNG } from 'pngjs';
import { decodeFile, jpegDecoderId } from '../../src/data/decode';
import { decodeMask } from '../../src/data/image';
import { cornerMask, removeDir, tmpDir } from './helpers/fixtures';
import { encodePalettePng, encodePng, encodePng1 } from './helpers/png';

let dir: string;
beforeAll(() => {
  dir = tmpDir('decode');
});
afterAll(() => removeDir(dir));

/** Any raster as RGBA, 8-bit, in the layout pngjs decodes to. */
function rgba(r: Awaited<ReturnType<typeof decodeFile>>): number[] {
  const out: number[] = [];
  for (let i = 0; i < r.width * r.height; i++) {
    const p = Array.from(r.data.subarray(i * r.channels, (i + 1) * r.channels));
    const rgb = r.channels >= 3 ? p.slice(0, 3) : [p[0]!, p[0]!, p[0]!];
    out.push(...rgb, r.channels === 2 || r.channels === 4 ? p[r.channels - 1]! : 255);
  }
  return out;
}

describe('decodeFile', () => {
  it('decodes every kind of 1- to 8-bit PNG (through sharp) to the values pngjs decodes', async () => {
    const w = 5;
    const h = 3;
    const n = w * h;
    const v = (i: number, k: number): number => (i * 37 + k * 91) % 256;
    const files: Record<string, Buffer> = {
      grey1: encodePng1(w, h, Array.from({ length: n }, (_, i) => i % 3 === 0 ? 1 : 0)),
      grey8: encodePng(w, h, 1, 8, Array.from({ length: n }, (_, i) => v(i, 0))),
      greyAlpha8: encodePng(w, h, 2, 8, Array.from({ length: 2 * n }, (_, i) => v(i >> 1, i & 1))),
      rgb8: encodePng(w, h, 3, 8, Array.from({ length: 3 * n }, (_, i) => v(i, 1))),
      rgba8: encodePng(w, h, 4, 8, Array.from({ length: 4 * n }, (_, i) => v(i, 2))),
      palette: encodePalettePng(w, h, [[0, 0, 0], [255, 255, 255], [200, 30, 10]], Array.from({ length: n }, (_, i) => i % 3), [255, 0, 128]),
    };
    for (const [name, bytes] of Object.entries(files)) {
      const file = path.join(dir, `${name}.png`);
      writeFileSync(file, bytes);
      const ref = PNG.sync.read(bytes);
      const got = await decodeFile(file, 'image');
      expect([name, got.width, got.height, got.maxValue]).toEqual([name, w, h, 255]);
      expect([name, ...rgba(got)]).toEqual([name, ...Array.from(ref.data)]);
    }
  });

  it('reads 1-bit and palette masks with transparency', async () => {
    const m = cornerMask(6, 4, 2, 3);
    const oneBit = path.join(dir, 'mask1.png');
    writeFileSync(oneBit, encodePng1(6, 4, m));
    expect(Array.from((await decodeMask(oneBit)).data)).toEqual(Array.from(m));
    // Palette: every entry white, entry 1 opaque and entry 0 transparent: the shape is in the alpha.
    const pal = path.join(dir, 'mask-palette.png');
    writeFileSync(pal, encodePalettePng(6, 4, [[255, 255, 255], [255, 255, 255]], m, [0, 255]));
    expect(Array.from((await decodeMask(pal)).data)).toEqual(Array.from(m));
  });

  it('names the JPEG decoder in use (part of the dataset cache key)', () => {
    expect(jpegDecoderId()).toMatch(/^sharp \d+\.\d+\.\d+ libvips \d+\.\d+\.\d+$/);
  });
});
