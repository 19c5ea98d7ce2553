/**
 * Clean-up of a thresholded 0/1 mask (w x h, row-major), applied at full resolution: a lesion is
 * one blob without holes. Lesion pixels connect through their 8 neighbours and background pixels
 * through their 4 (the pair that makes a one-pixel diagonal line of lesion a closed wall).
 */

const N8 = [
  [-1, -1], [0, -1], [1, -1],
  [-1, 0], [1, 0],
  [-1, 1], [0, 1], [1, 1],
] as const;
const N4 = [[0, -1], [-1, 0], [1, 0], [0, 1]] as const;

/**
 * Label the connected regions of pixels equal to `value`; returns the labels (0 = other pixels,
 * 1.. in raster order of each region's first pixel) and each region's size (sizes[label - 1]).
 */
function label(mask: Uint8Array, w: number, h: number, value: 0 | 1, nbrs: readonly (readonly [number, number])[]): { labels: Int32Array; sizes: number[] } {
  const labels = new Int32Array(w * h);
  const sizes: number[] = [];
  const stack = new Int32Array(w * h);
  for (let start = 0; start < w * h; start++) {
    if (labels[start] || (mask[start] ? 1 : 0) !== value) continue;
    const id = sizes.length + 1;
    let top = 0;
    let size = 0;
    stack[top++] = start;
    labels[start] = id;
    while (top > 0) {
      const p = stack[--top];
      size++;
      const x = p % w;
      const y = (p - x) / w;
      for (const [dx, dy] of nbrs) {
        const nx = x + dx;
        const ny = y + dy;
        if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
        const q = ny * w + nx;
        if (labels[q] || (mask[q] ? 1 : 0) !== value) continue;
        labels[q] = id;
        stack[top++] = q;
      }
    }
    sizes.push(size);
  }
  return { labels, sizes };
}

function checkSize(what: string, mask: Uint8Array, w: number, h: number): void {
  if (mask.length !== w * h) throw new Error(`${what}: expected a ${w} x ${h} mask (${w * h} values), found ${mask.length}`);
}

/** Keep the largest 8-connected lesion region (the first in raster order on a tie); empty stays empty. */
export function largestComponent(mask: Uint8Array, w: number, h: number): Uint8Array {
  checkSize('largestComponent', mask, w, h);
  const { labels, sizes } = label(mask, w, h, 1, N8);
  const out = new Uint8Array(w * h);
  if (!sizes.length) return out;
  let best = 0;
  for (let k = 1; k < sizes.length; k++) if (sizes[k] > sizes[best]) best = k;
  for (let i = 0; i < w * h; i++) out[i] = labels[i] === best + 1 ? 1 : 0;
  return out;
}

/** Fill every background region (4-connected) that does not touch the image border. */
export function fillHoles(mask: Uint8Array, w: number, h: number): Uint8Array {
  checkSize('fillHoles', mask, w, h);
  const { labels, sizes } = label(mask, w, h, 0, N4);
  const outside = new Uint8Array(sizes.length + 1);
  for (let x = 0; x < w; x++) {
    outside[labels[x]] = 1;
    outside[labels[(h - 1) * w + x]] = 1;
  }
  for (let y = 0; y < h; y++) {
    outside[labels[y * w]] = 1;
    outside[labels[y * w + w - 1]] = 1;
  }
  const out = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) out[i] = mask[i] ? 1 : outside[labels[i]] ? 0 : 1;
  return out;
}

/** Threshold (strictly above `threshold` is lesion), then the selected clean-ups in a fixed order. */
export function toMask(prob: ArrayLike<number>, w: number, h: number, s: { threshold: number; largestComponent: boolean; fillHoles: boolean }): Uint8Array {
  let m: Uint8Array = new Uint8Array(w * h);
  for (let i = 0; i < m.length; i++) m[i] = prob[i] > s.threshold ? 1 : 0;
  if (s.largestComponent) m = largestComponent(m, w, h);
  if (s.fillHoles) m = fillHoles(m, w, h);
  return m;
}
