/**
 * In-process dataset fixtures: tiny images and masks written to a fresh temporary folder, in the
 * layouts loadDataset recognises. Nothing is stored in the repository.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Jimp } from 'jimp';
import { encodeBmp1, encodeBmp24 } from './bmp';

export type RGB = [number, number, number];

export function tmpDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `melseg-${prefix}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** RGB image whose rows y < splitRow are `top` and the others `bottom` (orientation is visible). */
export function twoTone(width: number, height: number, top: RGB, bottom: RGB, splitRow = height >> 1): Uint8Array {
  const a = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const c = y < splitRow ? top : bottom;
    for (let x = 0; x < width; x++) a.set(c, (y * width + x) * 3);
  }
  return a;
}

/** 0/1 mask that is 1 on rows y < rows and columns x < cols. */
export function cornerMask(width: number, height: number, rows: number, cols = width): Uint8Array {
  const m = new Uint8Array(width * height);
  for (let y = 0; y < rows; y++) for (let x = 0; x < cols; x++) m[y * width + x] = 1;
  return m;
}

function rgba(width: number, height: number, rgbOrGrey: Uint8Array): Buffer {
  const channels = rgbOrGrey.length / (width * height);
  const out = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < 3; c++) out[i * 4 + c] = rgbOrGrey[i * channels + (channels === 3 ? c : 0)]!;
    out[i * 4 + 3] = 255;
  }
  return out;
}

/** Writes RGB (3 bytes/pixel) or grey (1 byte/pixel) data as PNG or JPEG, by extension. */
export async function writeRaster(file: string, width: number, height: number, data: Uint8Array, jpegQuality = 95): Promise<void> {
  mkdirSync(path.dirname(file), { recursive: true });
  const img = Jimp.fromBitmap({ data: rgba(width, height, data), width, height });
  const ext = path.extname(file).toLowerCase();
  const bytes = ext === '.png' ? await img.getBuffer('image/png') : await img.getBuffer('image/jpeg', { quality: jpegQuality });
  writeFileSync(file, bytes);
}

/** 0/1 mask scaled to 0/255 grey, for PNG masks. */
export function to255(mask: Uint8Array): Uint8Array {
  return mask.map((v) => v * 255);
}

export interface Ph2Sample {
  id: string;
  width: number;
  height: number;
  top: RGB;
  bottom: RGB;
  /** Lesion = the first maskRows rows. */
  maskRows: number;
  maskFormat: '1bit' | '24bit-topdown';
}

/** Writes `<root>/PH2Dataset/PH2 Dataset images/<id>/...` and returns the PH2Dataset folder. */
export function writePh2(root: string, samples: Ph2Sample[]): string {
  const ds = path.join(root, 'PH2Dataset');
  for (const s of samples) {
    const base = path.join(ds, 'PH2 Dataset images', s.id);
    mkdirSync(path.join(base, `${s.id}_Dermoscopic_Image`), { recursive: true });
    mkdirSync(path.join(base, `${s.id}_lesion`), { recursive: true });
    mkdirSync(path.join(base, `${s.id}_roi`), { recursive: true }); // present in PH2, ignored
    writeFileSync(path.join(base, `${s.id}_Dermoscopic_Image`, `${s.id}.bmp`), encodeBmp24(s.width, s.height, twoTone(s.width, s.height, s.top, s.bottom)));
    const mask = cornerMask(s.width, s.height, s.maskRows);
    const bytes =
      s.maskFormat === '1bit'
        ? encodeBmp1(s.width, s.height, mask)
        : encodeBmp24(s.width, s.height, twoTone(s.width, s.height, [255, 255, 255], [0, 0, 0], s.maskRows), true);
    writeFileSync(path.join(base, `${s.id}_lesion`, `${s.id}_lesion.bmp`), bytes);
  }
  return ds;
}

/** Writes an images/ + masks/ pair folder; ISIC naming (`<id>_segmentation.png`) unless plain. */
export async function writePairs(
  root: string,
  samples: { id: string; width: number; height: number; ext: '.png' | '.jpg'; top: RGB; bottom: RGB; maskRows: number }[],
  naming: 'isic' | 'plain' = 'isic',
): Promise<void> {
  for (const s of samples) {
    await writeRaster(path.join(root, 'images', s.id + s.ext), s.width, s.height, twoTone(s.width, s.height, s.top, s.bottom));
    const maskName = naming === 'isic' ? `${s.id}_segmentation.png` : `${s.id}.png`;
    await writeRaster(path.join(root, 'masks', maskName), s.width, s.height, to255(cornerMask(s.width, s.height, s.maskRows)));
  }
}

/** Pixel (x, y) of an S x S RGB sample `i` of a dataset's image array. */
export function pixel(images: Uint8Array, size: number, i: number, x: number, y: number): RGB {
  const o = ((i * size + y) * size + x) * 3;
  return [images[o]!, images[o + 1]!, images[o + 2]!];
}

/** Row y of an S x S mask `i` as a plain array. */
export function maskRow(masks: Uint8Array, size: number, i: number, y: number): number[] {
  const o = (i * size + y) * size;
  return Array.from(masks.subarray(o, o + size));
}
