/** `melseg predict` outputs at the original image size: the binary mask and the overlay, as PNG files. */
import { writeFileAtomic } from '../../util/atomic';
import { OverlayOptions, overlayImage } from './overlay';
import { encodePng } from './png';
import { resizeProbability, squareSide } from './resize';

/**
 * The S*S probability map resized (bilinear) to the original w*h, thresholded at `threshold` (0.5),
 * written as an 8-bit grey PNG with values 0/255.
 */
export async function saveMaskPng(prob: Float32Array, w: number, h: number, file: string, threshold = 0.5): Promise<void> {
  const s = squareSide(`mask ${file}`, prob);
  const big = resizeProbability(prob, s, s, w, h);
  const px = new Uint8Array(w * h);
  for (let i = 0; i < px.length; i++) px[i] = big[i] >= threshold ? 255 : 0;
  await writeFileAtomic(file, await encodePng(px, w, h, 1));
}

/** The overlay at original size: `image` is the original w*h*3 RGB, `prob` the S*S network output (resized to w*h here). */
export async function saveOverlayPng(
  image: Uint8Array,
  prob: Float32Array,
  w: number,
  h: number,
  file: string,
  opts: Omit<OverlayOptions, 'height'> = {},
): Promise<void> {
  const s = squareSide(`overlay ${file}`, prob);
  const big = s === w && s === h ? prob : resizeProbability(prob, s, s, w, h);
  await writeFileAtomic(file, await encodePng(overlayImage(image, big, w, { ...opts, height: h }), w, h, 3));
}
