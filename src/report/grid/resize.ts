/** Resizing a network's S*S probability map to an original image size. */
import { checkLength } from './check';

/**
 * Bilinear resize of a probability map with half-pixel centres (source coordinate = (x + 0.5) * sw/dw - 0.5,
 * clamped), i.e. PyTorch's interpolate(mode='bilinear', align_corners=False).
 */
export function resizeProbability(prob: ArrayLike<number>, sw: number, sh: number, dw: number, dh: number): Float32Array {
  checkLength('resizeProbability prob', prob, sw * sh, `${sw}x${sh}`);
  const out = new Float32Array(dw * dh);
  const sx = sw / dw;
  const sy = sh / dh;
  for (let y = 0; y < dh; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), sh - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, sh - 1);
    const wy = fy - y0;
    for (let x = 0; x < dw; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), sw - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, sw - 1);
      const wx = fx - x0;
      const top = prob[y0 * sw + x0] * (1 - wx) + prob[y0 * sw + x1] * wx;
      const bot = prob[y1 * sw + x0] * (1 - wx) + prob[y1 * sw + x1] * wx;
      out[y * dw + x] = top * (1 - wy) + bot * wy;
    }
  }
  return out;
}
