/**
 * The failure gallery of an evaluation: its worst k images by IoU, one row each, image | probability |
 * ground truth | overlay of the FINAL mask (after threshold and post-processing) with the truth's
 * contour, captioned with the id, the full-resolution IoU and the label. Rows are drawn at the network's
 * input size S (the full-resolution maps sampled down by nearest neighbour), so a gallery of a
 * 765 x 560 PH2 evaluation stays small.
 */
import { resampleNearest } from '../data/resample';
import { predictionGrid, type GridItem } from '../report';

interface Entry {
  iou: number;
  item: GridItem;
}

/** Collects the worst `k` images while an evaluation streams, then draws them. */
export class FailureGallery {
  private worst: Entry[] = [];

  constructor(
    readonly k: number,
    private readonly S: number,
  ) {
    if (!Number.isInteger(k) || k < 0) throw new Error(`--gallery ${k}: expected a whole number of images >= 0 (0 = no gallery)`);
  }

  /** Whether an image of this IoU would enter the gallery (so callers skip the copies otherwise). */
  wants(iou: number): boolean {
    return this.k > 0 && (this.worst.length < this.k || iou < this.worst[this.worst.length - 1].iou);
  }

  /**
   * `image` is the S x S RGB the network saw; prob, finalMask and truth are w x h (original size).
   * Ties keep the earlier image (a stable order for tests).
   */
  add(s: { id: string; iou: number; label?: string; image: Uint8Array; prob: Float32Array; finalMask: Uint8Array; truth: Uint8Array; width: number; height: number }): void {
    if (!this.wants(s.iou)) return;
    const { S } = this;
    const down = (a: Uint8Array) => resampleNearest(a, s.width, s.height, 1, { x: 0, y: 0, w: s.width, h: s.height }, S, S);
    // the probability goes through 8 bits, the grid's own depth for it (round(p * 255))
    const prob = Float32Array.from(down(Uint8Array.from(s.prob, (p) => Math.round(p * 255))), (v) => v / 255);
    const item: GridItem = {
      id: s.id,
      image: s.image.slice(),
      prob,
      mask: down(s.truth),
      overlayMask: down(s.finalMask),
      caption: `${s.id}   IoU ${s.iou.toFixed(3)}${s.label ? `   ${s.label}` : ''}`,
    };
    let at = this.worst.findIndex((e) => s.iou < e.iou);
    if (at < 0) at = this.worst.length;
    this.worst.splice(at, 0, { iou: s.iou, item });
    if (this.worst.length > this.k) this.worst.pop();
  }

  /** The ids in the gallery, worst first. */
  ids(): string[] {
    return this.worst.map((e) => e.item.id);
  }

  /** Writes the PNG (atomically); false when there is nothing to draw. */
  async write(file: string): Promise<boolean> {
    if (!this.worst.length) return false;
    await predictionGrid(
      this.worst.map((e) => e.item),
      this.S,
      file,
    );
    return true;
  }
}
