/**
 * Seeded test data for the report: plausible results rows (fakeResults) and prediction-grid items.
 * Curves: IoU(e) = c * (1 - exp(-e / tau)) + noise, c in ~[0.6, 0.85] by model and loss; loss(e) =
 * floor + (start - floor) * exp(-e / tau); validation loss turns up slightly after ~2/3 of training
 * (mild over-fitting), as real curves do.
 */
import { LOSS_NAMES, MODEL_NAMES } from '../../src/report/names';
import type { ResultRow } from '../../src/report/results';
import type { GridItem } from '../../src/report/grid';
import { mulberry32 } from '../../src/util/mulberry32';

export interface FakeResultsOptions {
  seed?: number;
  epochs?: number;
  models?: readonly string[];
  losses?: readonly string[];
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function fakeResults(opts: FakeResultsOptions = {}): ResultRow[] {
  const rand = mulberry32(opts.seed ?? 1);
  const epochs = opts.epochs ?? 20;
  const models = opts.models ?? MODEL_NAMES;
  const losses = opts.losses ?? LOSS_NAMES;
  const noise = (s: number) => (rand() - 0.5) * 2 * s;
  const modelBonus: Record<string, number> = { SegNet: -0.06, UNet: 0, UNet_stride: -0.02, UNet_dilate: 0.03 };
  const rows: ResultRow[] = [];
  let runNo = 0;
  for (const model of models) {
    for (const criterion of losses) {
      runNo++;
      const alpha = /alpha_([\d.]+)/.exec(criterion);
      // Tversky with extreme alpha (all FP or all FN penalty) converges to worse masks.
      const lossPenalty = alpha ? -0.12 * Math.abs(Number(alpha[1]) - 0.4) : criterion === 'focal_loss' ? -0.04 : 0;
      const ceiling = Math.min(0.86, Math.max(0.55, 0.8 + (modelBonus[model] ?? 0) + lossPenalty + noise(0.02)));
      const tau = epochs * (0.15 + rand() * 0.15);
      const [start, floor] = criterion === 'focal_loss' ? [0.16, 0.035] : /bce|BCE/.test(criterion) ? [0.65, 0.14] : [0.55, 0.12];
      for (let e = 1; e <= epochs; e++) {
        const decay = Math.exp(-e / tau);
        const train = floor * 0.8 + (start - floor * 0.8) * decay + noise(0.004);
        const overfit = Math.max(0, e - epochs * 0.65) * 0.004;
        rows.push({
          train_loss: round(train, 5),
          valid_loss: round(floor + (start - floor) * decay + overfit + noise(0.01), 5),
          metric: round(Math.min(0.99, ceiling * (1 - Math.exp(-e / (tau * 0.8))) + noise(0.012)), 5),
          model,
          criterion,
          epoch: e,
          lr: 1e-3 * Math.pow(0.5, Math.floor((e - 1) / 10)),
          seconds: round(40 + rand() * 5, 2),
          images_per_s: round(60 + rand() * 8, 2),
          run: `run${String(runNo).padStart(3, '0')}`,
        });
      }
    }
  }
  return rows;
}

/** A seeded item: noisy image, a disc mask, a probability blob offset from it. */
export function noisyItem(S: number, seed: number, id: string): GridItem {
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
 * A lesion-like item: a dark, lobed blob on skin-coloured, grainy background, and a soft prediction
 * that roughly follows it (what a real grid compresses like, unlike pure noise or flat colour).
 */
export function lesionItem(S: number, seed: number, id: string): GridItem {
  const rand = mulberry32(seed);
  const image = new Uint8Array(S * S * 3);
  const prob = new Float32Array(S * S);
  const mask = new Uint8Array(S * S);
  const cx = S / 2 + (rand() - 0.5) * S * 0.25;
  const cy = S / 2 + (rand() - 0.5) * S * 0.25;
  const r = S * (0.18 + rand() * 0.12);
  const lobes = 3 + Math.floor(rand() * 4);
  const skin = [200 + rand() * 30, 145 + rand() * 25, 125 + rand() * 20];
  const clamp = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const i = y * S + x;
      const d = (Math.hypot(x - cx, y - cy) / r) * (1 + 0.15 * Math.sin(lobes * Math.atan2(y - cy, x - cx)));
      mask[i] = d < 1 ? 1 : 0;
      prob[i] = Math.min(1, Math.max(0, 1.3 - d + (rand() - 0.5) * 0.3));
      const grain = (rand() - 0.5) * 24;
      const dark = mask[i] ? 0.5 + 0.1 * Math.sin(x / 3) : 1;
      for (let k = 0; k < 3; k++) image[i * 3 + k] = clamp(skin[k] * dark + grain);
    }
  }
  return { image, prob, mask, id };
}

export { mulberry32 };
