/**
 * The network's input: an HWC image and its 0/1 mask as the float32 CHW tensors every graph takes,
 * the image normalised with ImageNet's statistics (torchvision's Normalize in the study).
 */
import type { FloatImage, Image, Mask } from './image';

/** ImageNet statistics (torchvision's Normalize in the study). */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/**
 * HWC image -> normalised CHW float32: out[c, y, x] = (v / range - mean[c]) / std[c], where range is
 * 255 for an 8-bit Image and 1 for a FloatImage. Writes at `offset` into `out` when given (batching).
 */
export function toTensor(image: Image | FloatImage, out?: Float32Array, offset = 0): Float32Array {
  const { width: W, height: H } = image;
  if (image.channels !== 3) throw new Error(`toTensor: expected 3 channels, found ${image.channels}`);
  const plane = W * H;
  const dst = out ?? new Float32Array(3 * plane);
  const range = image.data instanceof Float32Array ? 1 : 255;
  for (let c = 0; c < 3; c++) {
    const a = 1 / (range * IMAGENET_STD[c]);
    const b = -IMAGENET_MEAN[c] / IMAGENET_STD[c];
    const base = offset + c * plane;
    for (let i = 0; i < plane; i++) dst[base + i] = image.data[i * 3 + c] * a + b;
  }
  return dst;
}

/** 0/1 mask -> float32 [1, H, W] (written at `offset` into `out` when given). */
export function maskToTensor(mask: Mask, out?: Float32Array, offset = 0): Float32Array {
  const dst = out ?? new Float32Array(mask.width * mask.height);
  for (let i = 0; i < mask.data.length; i++) dst[offset + i] = mask.data[i];
  return dst;
}
