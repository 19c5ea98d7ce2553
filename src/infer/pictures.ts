/**
 * The files predict and evaluate --save-masks write: the final mask (8-bit grey PNG, 0/255, the
 * original size, after post-processing) and the overlay of that mask on the image. Written through
 * src/util/atomic.ts: a temp file renamed over the name, so a symlink planted at the name is
 * replaced, never followed.
 */
import { encodePng, overlayImage } from '../report';
import { writeFileAtomic } from '../util/atomic';

export async function writeMaskPng(mask: Uint8Array, w: number, h: number, file: string): Promise<void> {
  const px = new Uint8Array(w * h);
  for (let i = 0; i < px.length; i++) px[i] = mask[i] ? 255 : 0;
  await writeFileAtomic(file, await encodePng(px, w, h, 1));
}

/** `image` is the original w x h RGB; the overlay legend is src/report's. */
export async function writeOverlayPng(image: Uint8Array, mask: Uint8Array, w: number, h: number, file: string): Promise<void> {
  await writeFileAtomic(file, await encodePng(overlayImage(image, mask, w, { height: h, threshold: 0.5 }), w, h, 3));
}
