/**
 * Drawing a mask over an image in the fine-tuning panel: click around the lesion point by point;
 * clicking the first point again (or "close the outline") fills the outline; several outlines add
 * up; "clear" starts the image over. The mask is computed here in the image's own pixels, not read
 * back from the canvas's antialiased fill: a pixel is lesion when its centre (x + 1/2, y + 1/2) lies
 * inside an outline (even-odd rule).
 */
import type { Image, Mask } from '../src/data/image';

export type Point = readonly [number, number];

/** Sets to 1 the pixels of the w x h `mask` whose centres lie inside the polygon `pts` (image coordinates). */
export function fillPolygon(mask: Uint8Array, w: number, h: number, pts: readonly Point[]): void {
  for (let y = 0; y < h; y++) {
    const cy = y + 0.5;
    // where the row of centres crosses each edge (half-open in y, so a vertex is counted once)
    const xs: number[] = [];
    pts.forEach(([x0, y0], i) => {
      const [x1, y1] = pts[(i + 1) % pts.length];
      if (y0 <= cy !== y1 <= cy) xs.push(x0 + ((cy - y0) * (x1 - x0)) / (y1 - y0));
    });
    xs.sort((a, b) => a - b);
    // between crossings 2k and 2k + 1: centres x + 1/2 in [xs[2k], xs[2k+1])
    for (let k = 0; k + 1 < xs.length; k += 2) {
      const to = Math.min(w, Math.ceil(xs[k + 1] - 0.5));
      for (let x = Math.max(0, Math.ceil(xs[k] - 0.5)); x < to; x++) mask[y * w + x] = 1;
    }
  }
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
/** how close (CSS px) a click must come to the first point to close the outline */
const CLOSE_PX = 8;

/** The drawing area of the panel: one mask per image of the current list, drawn on demand. */
export class MaskDrawer {
  private images: { name: string; image: Image }[] = [];
  private masks: Uint8Array[] = [];
  private index = 0;
  private outline: Point[] = [];
  private readonly canvas = $<HTMLCanvasElement>('ft-canvas');
  private readonly ctx = this.canvas.getContext('2d') as CanvasRenderingContext2D;

  constructor() {
    this.canvas.addEventListener('click', (e) => this.click(e));
    $('ft-close').addEventListener('click', () => this.close());
    $('ft-clear').addEventListener('click', () => {
      this.masks[this.index]?.fill(0);
      this.outline = [];
      this.render();
    });
    $('ft-prev').addEventListener('click', () => this.show(this.index - 1));
    $('ft-next').addEventListener('click', () => this.show(this.index + 1));
  }

  /** Starts drawing on `images` (the panel's chosen files, in their order); earlier drawings are dropped. */
  start(images: { name: string; image: Image }[]): void {
    this.images = images;
    this.masks = images.map(({ image }) => new Uint8Array(image.width * image.height));
    $('ft-drawer').hidden = false;
    this.show(0);
  }

  /** Forgets the drawings (the image list changed). */
  reset(): void {
    this.images = [];
    this.masks = [];
    this.outline = [];
    $('ft-drawer').hidden = true;
  }

  /** The drawn mask of each image (0/1 at the image's size), or the name of the first image with none. */
  drawn(): { masks: Mask[] } | { missing: string } | null {
    if (!this.images.length) return null;
    const empty = this.masks.findIndex((m) => !m.includes(1));
    if (empty >= 0) return { missing: this.images[empty].name };
    return { masks: this.masks.map((data, i) => ({ data, width: this.images[i].image.width, height: this.images[i].image.height })) };
  }

  private show(i: number): void {
    if (i < 0 || i >= this.images.length) return;
    this.index = i;
    this.outline = [];
    const { name, image } = this.images[i];
    this.canvas.width = image.width;
    this.canvas.height = image.height;
    $('ft-draw-name').textContent = `${name} (${i + 1} of ${this.images.length})`;
    this.render();
  }

  private click(e: MouseEvent): void {
    const r = this.canvas.getBoundingClientRect();
    const [sx, sy] = [this.canvas.width / r.width, this.canvas.height / r.height];
    const p: Point = [(e.clientX - r.left) * sx, (e.clientY - r.top) * sy];
    const first = this.outline[0];
    if (first && this.outline.length >= 3 && Math.hypot((p[0] - first[0]) / sx, (p[1] - first[1]) / sy) <= CLOSE_PX) this.close();
    else {
      this.outline.push(p);
      this.render();
    }
  }

  private close(): void {
    if (this.outline.length >= 3) fillPolygon(this.masks[this.index], this.canvas.width, this.canvas.height, this.outline);
    this.outline = [];
    this.render();
  }

  /** The image, its mask tinted, and the outline being drawn. */
  private render(): void {
    const { image } = this.images[this.index];
    const mask = this.masks[this.index];
    const px = new ImageData(image.width, image.height);
    for (let i = 0; i < image.width * image.height; i++) {
      for (let c = 0; c < 3; c++) px.data[i * 4 + c] = mask[i] ? Math.round(0.55 * image.data[i * 3 + c] + 0.45 * [86, 180, 233][c]) : image.data[i * 3 + c];
      px.data[i * 4 + 3] = 255;
    }
    this.ctx.putImageData(px, 0, 0);
    if (!this.outline.length) return;
    this.ctx.strokeStyle = '#e69f00';
    this.ctx.lineWidth = Math.max(1, image.width / 200);
    this.ctx.beginPath();
    this.outline.forEach(([x, y], k) => (k ? this.ctx.lineTo(x, y) : this.ctx.moveTo(x, y)));
    this.ctx.stroke();
  }
}
