/**
 * Seeded, plausible fake results for tests and for eyeballing charts without training anything.
 * Curves: IoU(e) = c * (1 - exp(-e / tau)) + noise, c in ~[0.6, 0.85] by model and loss; loss(e) =
 * floor + (start - floor) * exp(-e / tau); validation loss turns up slightly after ~2/3 of training
 * (mild over-fitting), as real curves do.
 */
import { LOSS_NAMES, MODEL_NAMES } from './names';
import type { ResultRow } from './results';
import { mulberry32 } from '../util/mulberry32';

export { mulberry32 };

export interface FakeResultsOptions {
  seed?: number;
  epochs?: number;
  models?: readonly string[];
  losses?: readonly string[];
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
      const lr0 = 1e-3;
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
          lr: lr0 * Math.pow(0.5, Math.floor((e - 1) / 10)),
          seconds: round(40 + rand() * 5, 2),
          images_per_s: round(60 + rand() * 8, 2),
          run: `run${String(runNo).padStart(3, '0')}`,
        });
      }
    }
  }
  return rows;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
