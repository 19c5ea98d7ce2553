/**
 * One image to its mask with an exported model, as `melseg predict` does it (src/infer/predict.ts),
 * from the same functions in the same order: resize to S x S (resizeBilinear, 8-bit), the network
 * with test-time augmentation (predictWithTta), the probabilities upsampled to the original size
 * (resizeProbability), then thresholded and post-processed (toMask). The one difference is where
 * the ImageNet normalisation happens: inside the exported graph, so the network is fed value / 255;
 * the TTA views are pixel permutations and the normalisation acts per pixel, so the two commute.
 *
 * This file runs in Node (tests) and in the browser (web/page.ts bundles it), so it imports only
 * modules of plain computations.
 */
import { resizeBilinear, type Image } from '../data/image';
import { toMask } from '../infer/postprocess';
import type { InferenceSettings } from '../infer/settings';
import { predictWithTta, type Network } from '../infer/tta';
import { resizeProbability } from '../report/grid/resize';

export interface Segmentation {
  /** width * height values, 1 = lesion. */
  mask: Uint8Array;
  /** Mask pixels / all pixels, at the original size. */
  lesionFraction: number;
  /** width * height probabilities before thresholding. */
  probability: Float32Array;
}

/** An 8-bit RGB HWC image (S x S) as the exported model's input [1, 3, S, S], value / 255. */
export function unitTensor(img: Image): Float32Array {
  const plane = img.width * img.height;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) for (let i = 0; i < plane; i++) out[c * plane + i] = img.data[i * 3 + c] / 255;
  return out;
}

/** `net` is the exported model (value / 255 in, probabilities out); `S` its input side. */
export async function segmentImage(net: Network, img: Image, S: number, settings: InferenceSettings): Promise<Segmentation> {
  if (img.channels !== 3) throw new Error(`segmentImage: expected an RGB image (3 channels), found ${img.channels}`);
  const prob = await predictWithTta(net, unitTensor(resizeBilinear(img, S)), 1, S, settings.tta);
  const probability = resizeProbability(prob, S, S, img.width, img.height);
  const mask = toMask(probability, img.width, img.height, settings);
  let lesion = 0;
  for (let i = 0; i < mask.length; i++) lesion += mask[i];
  return { mask, lesionFraction: lesion / mask.length, probability };
}
