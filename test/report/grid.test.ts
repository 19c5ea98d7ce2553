import * as fs from 'fs';
import * as path from 'path';
import {
  GT_COLOUR,
  PRED_COLOUR,
  encodePng,
  gridLayout,
  maskContour,
  overlayImage,
  predictionGrid,
  resizeProbability,
  saveMaskPng,
  saveOverlayPng,
  GridItem,
} from '../../src/report/grid';
import { mulberry32 } from '../../src/report/fake';
import { pngPixels, pngSize, tempDir } from './helpers';

let dir: string;
beforeAll(() => {
  dir = tempDir();
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A seeded item: noisy image, a disc mask, a probability blob offset from it. */
function item(S: number, seed: number, id: string): GridItem {
  const rand = mulberry32(seed);
  const image = new Uint8Array(S * S * 3);
  const prob = new Float32Array(S * S);
  const mask = new Uint8Array(S * S);
  const c = S / 2 + (rand() - 0.5) * 4;
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const i = y * S + x;
      mask[i] = Math.hypot(x - c, y - c) < S / 4 ? 1 : 0;
      prob[i] = rand() * 0.2 + (Math.hypot(x - c - 2, y - c) < S / 4 ? 0.75 : 0);
      for (let k = 0; k < 3; k++) image[i * 3 + k] = Math.floor(rand() * 256);
    }
  }
  return { image, prob, mask, id };
}

/**
 * Decoded by canvas (libpng), not by our encoder. (Jimp.read would be the obvious choice but its file-type
 * sniffing uses a dynamic import(), which Jest's CommonJS runtime rejects.)
 */
const readRgba = pngPixels;

describe('predictionGrid', () => {
  test('bare grid is 4S + 5g wide and nS + (n + 1)g high', async () => {
    const S = 16;
    const file = path.join(dir, 'bare.png');
    await predictionGrid([item(S, 1, 'a'), item(S, 2, 'b')], S, file, { header: false, captions: false, legend: false, gutter: 2 });
    expect(pngSize(file)).toEqual({ width: 4 * 16 + 5 * 2, height: 2 * 16 + 3 * 2 });
  });

  test('tiles hold the image, p*255, mask*255 and the overlay, with white gutters', async () => {
    const S = 24;
    const items = [item(S, 3, 'ISIC_1'), item(S, 4, 'ISIC_2'), item(S, 5, 'ISIC_3')];
    const file = path.join(dir, 'grid.png');
    const L = await predictionGrid(items, S, file);
    expect(pngSize(file)).toEqual({ width: L.width, height: L.height });
    expect(L.headerH).toBeGreaterThan(0);
    expect(L.captionH).toBeGreaterThan(0);
    const { width, data } = await readRgba(file);
    const px = (x: number, y: number) => [0, 1, 2].map((c) => data[(y * width + x) * 4 + c]);
    items.forEach((it, r) => {
      const ov = overlayImage(it.image, it.prob, S, { mask: it.mask });
      const tiles = [0, 1, 2, 3].map((c) => L.tile(r, c));
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) {
          const i = y * S + x;
          expect(px(tiles[0].x + x, tiles[0].y + y)).toEqual([...it.image.subarray(i * 3, i * 3 + 3)]);
          const p = Math.round(Math.min(1, it.prob[i]) * 255);
          expect(px(tiles[1].x + x, tiles[1].y + y)).toEqual([p, p, p]);
          const m = it.mask[i] * 255;
          expect(px(tiles[2].x + x, tiles[2].y + y)).toEqual([m, m, m]);
          expect(px(tiles[3].x + x, tiles[3].y + y)).toEqual([...ov.subarray(i * 3, i * 3 + 3)]);
        }
      }
      // The gutter left of the first tile and between tiles 2 and 3 is white.
      expect(px(tiles[0].x - 1, tiles[0].y + 5)).toEqual([255, 255, 255]);
      expect(px(tiles[2].x - 1, tiles[2].y + 5)).toEqual([255, 255, 255]);
    });
    // The header row has some text ink above the first tile row.
    let ink = 0;
    for (let y = L.gutter; y < L.gutter + L.headerH; y++) for (let x = 0; x < width; x++) if (px(x, y)[0] < 128) ink++;
    expect(ink).toBeGreaterThan(10);
  });

  test('rejects a gutter outside 2..4 and arrays of the wrong size, naming the item', async () => {
    expect(() => gridLayout(1, 8, { gutter: 6 })).toThrow(/expected gutter 2..4 px; found 6/);
    const bad = { ...item(8, 1, 'ISIC_bad'), mask: new Uint8Array(10) };
    await expect(predictionGrid([bad], 8, path.join(dir, 'bad.png'))).rejects.toThrow(/item 0 \(ISIC_bad\) mask: expected 64 values .*found 10/);
  });
});

describe('overlay and predict outputs', () => {
  test('overlay: ground-truth contour in GT colour, predicted area tinted, background untouched', () => {
    const S = 32;
    const image = new Uint8Array(S * S * 3).fill(100);
    const prob = new Float32Array(S * S);
    const mask = new Uint8Array(S * S);
    for (let y = 8; y < 24; y++) for (let x = 8; x < 24; x++) mask[y * S + x] = 1;
    for (let y = 10; y < 20; y++) for (let x = 10; x < 20; x++) prob[y * S + x] = 0.9;
    const ov = overlayImage(image, prob, S, { mask, thickness: 1 });
    const at = (x: number, y: number) => [...ov.subarray((y * S + x) * 3, (y * S + x) * 3 + 3)];
    expect(at(8, 15)).toEqual([...GT_COLOUR]); // GT edge
    expect(at(10, 15)).toEqual([...PRED_COLOUR]); // prediction edge
    expect(at(15, 15)).toEqual(PRED_COLOUR.map((c) => Math.round(0.65 * 100 + 0.35 * c))); // tinted interior
    expect(at(2, 2)).toEqual([100, 100, 100]);
    expect(maskContour(mask, S, S, 1).reduce((a, b) => a + b, 0)).toBe(4 * 15);
  });

  test('saveMaskPng resizes to the original size and writes grey 0/255 at threshold 0.5', async () => {
    const S = 8;
    const prob = new Float32Array(S * S);
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) prob[y * S + x] = x < S / 2 ? 0.2 : 0.8;
    const file = path.join(dir, 'mask.png');
    await saveMaskPng(prob, 30, 20, file);
    const { width, height, data } = await readRgba(file);
    expect([width, height]).toEqual([30, 20]);
    for (let y = 0; y < 20; y++) {
      for (let x = 0; x < 30; x++) {
        const v = data[(y * 30 + x) * 4];
        expect(v).toBe(x < 15 ? 0 : 255); // the 0.5 crossing of the bilinear ramp is the image centre
        expect(data[(y * 30 + x) * 4 + 1]).toBe(v);
      }
    }
    expect(fs.readFileSync(file)[25]).toBe(0); // colour type 0: single-channel grey
    await expect(saveMaskPng(new Float32Array(10), 4, 4, path.join(dir, 'x.png'))).rejects.toThrow(/square S\*S probability map; found 10 values/);
  });

  test('saveOverlayPng writes an RGB overlay at the original size', async () => {
    const image = new Uint8Array(12 * 9 * 3).fill(50);
    const prob = new Float32Array(4 * 4).fill(0.9);
    const file = path.join(dir, 'overlay.png');
    await saveOverlayPng(image, prob, 12, 9, file);
    const { width, height, data } = await readRgba(file);
    expect([width, height]).toEqual([12, 9]);
    expect([data[0], data[1], data[2]]).toEqual([...PRED_COLOUR]); // corner: prediction contour at the border
  });

  test('resizeProbability keeps a constant map and is the identity at the same size', () => {
    const rand = mulberry32(9);
    const p = Float32Array.from({ length: 25 }, () => rand());
    expect(resizeProbability(p, 5, 5, 5, 5)).toEqual(p);
    expect([...resizeProbability(new Float32Array(16).fill(0.25), 4, 4, 7, 3)].every((v) => Math.abs(v - 0.25) < 1e-7)).toBe(true);
  });

  test('encodePng round-trips exact RGB pixels through an independent decoder (grey: see saveMaskPng)', async () => {
    const rand = mulberry32(11);
    const rgb = Uint8Array.from({ length: 5 * 3 * 3 }, () => Math.floor(rand() * 256));
    const file = path.join(dir, 'rgb.png');
    fs.writeFileSync(file, encodePng(rgb, 5, 3, 3));
    const { data } = await readRgba(file);
    for (let i = 0; i < 15; i++) expect([data[i * 4], data[i * 4 + 1], data[i * 4 + 2], data[i * 4 + 3]]).toEqual([...rgb.subarray(i * 3, i * 3 + 3), 255]);
  });
});
