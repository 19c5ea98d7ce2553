/**
 * Small JPEG thumbnails of prediction grids for report.html, which links each to its full-size PNG
 * instead of embedding it (a 256 px grid is about 1 MB; 60 of them inlined would make a page of 60 MB).
 *
 * Decoded and scaled by canvas (libpng + cairo) and encoded by libjpeg, not by jimp's JavaScript codecs:
 * 0.2 s against 1.2 s per 256 px grid (decode + resize + JPEG), side by side in one run on a busy
 * 2-core machine; a sweep's report makes 60 of them.
 */
import * as fs from 'fs';
import { createCanvas, loadImage } from 'canvas';
import { writeFileAtomic } from '../../util/atomic';

/** Thumbnail width in px (a 4-column grid: tiles of about 77 px); narrower grids are not enlarged. */
export const THUMB_WIDTH = 320;
const JPEG_QUALITY = 0.8;

/** Writes a JPEG thumbnail of the PNG `grid` to `out`; returns its size. */
export async function makeThumbnail(grid: string, out: string): Promise<{ width: number; height: number }> {
  let img: Awaited<ReturnType<typeof loadImage>>;
  try {
    img = await loadImage(fs.readFileSync(grid));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(
      `prediction grid ${grid} cannot be read (${code ?? (e as Error).message}); expected a PNG written by training. ` +
        `Check the file, or move the run's folder aside to chart without it.`,
    );
  }
  const width = Math.min(THUMB_WIDTH, img.width);
  const height = Math.max(1, Math.round((img.height * width) / img.width));
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingEnabled = true;
  ctx.quality = 'best'; // cairo's highest-quality filter for scaling down
  ctx.drawImage(img, 0, 0, width, height);
  await writeFileAtomic(out, canvas.toBuffer('image/jpeg', { quality: JPEG_QUALITY }));
  return { width, height };
}
