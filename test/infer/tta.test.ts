import { augmentBatch, mergeViews, predictEveryTta, predictWithTta, sourceIndex, TTA_TRANSFORMS, type Network } from '../../src/infer/tta';
import { seeded, uniform } from '../helpers/random';

const S = 5;
const plane = S * S;
const at = (a: ArrayLike<number>, y: number, x: number) => a[y * S + x];

describe('TTA transforms', () => {
  it('flips has 4 and d4 has 8 distinct pixel permutations', () => {
    for (const [mode, n] of [['none', 1], ['flips', 4], ['d4', 8]] as const) {
      const maps = TTA_TRANSFORMS[mode].map((t) => sourceIndex(t, S).join(','));
      expect(new Set(maps).size).toBe(n);
      for (const m of maps) expect(new Set(m.split(',')).size).toBe(plane);
    }
  });

  it('maps pixels as the named flips and rotations do', () => {
    const img = Float32Array.from({ length: plane }, (_, i) => i);
    const views = augmentBatch(img, 1, 1, S, TTA_TRANSFORMS.d4);
    const view = (name: string) => views.subarray(TTA_TRANSFORMS.d4.findIndex((t) => t.name === name) * plane).subarray(0, plane);
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        expect(at(view('flip-h'), y, x)).toBe(at(img, y, S - 1 - x));
        expect(at(view('flip-v'), y, x)).toBe(at(img, S - 1 - y, x));
        expect(at(view('flip-hv'), y, x)).toBe(at(img, S - 1 - y, S - 1 - x));
        expect(at(view('transpose'), y, x)).toBe(at(img, x, y));
        // counter-clockwise quarter turn: the top row becomes the left column, read bottom-up
        expect(at(view('rot90'), y, x)).toBe(at(img, x, S - 1 - y));
        expect(at(view('rot270'), y, x)).toBe(at(img, S - 1 - x, y));
      }
    }
  });

  it('undoing each transform is exact: merging the views of an image gives the image back bit for bit', () => {
    const rand = seeded(3);
    const img = uniform(rand, 2 * plane, 0, 1);
    for (const mode of ['flips', 'd4'] as const) {
      const T = TTA_TRANSFORMS[mode];
      const views = augmentBatch(img, 2, 1, S, T);
      // every view undone separately is the original
      T.forEach((t, k) => {
        for (let b = 0; b < 2; b++) {
          const single = mergeViews(views.slice((b * T.length + k) * plane, (b * T.length + k + 1) * plane), 1, S, [t]);
          expect(single).toEqual(img.slice(b * plane, (b + 1) * plane));
        }
      });
    }
  });
});

describe('predictWithTta', () => {
  /** A per-pixel network: commutes with every permutation of the pixels. */
  const pointwise: Network = async (x, n) => {
    const out = new Float32Array(n * plane);
    for (let b = 0; b < n; b++) for (let i = 0; i < plane; i++) out[b * plane + i] = 1 / (1 + Math.exp(-(x[(b * 3) * plane + i] + 0.5 * x[(b * 3 + 1) * plane + i])));
    return out;
  };

  it('a network whose output is symmetric gives exactly the same probabilities with and without TTA', async () => {
    const rand = seeded(7);
    const x = uniform(rand, 2 * 3 * plane, -2, 2);
    const plain = await predictWithTta(pointwise, x, 2, S, 'none');
    for (const mode of ['flips', 'd4'] as const) {
      const tta = await predictWithTta(pointwise, x, 2, S, mode);
      // the mean of T equal float32 values, summed in float64, is that value exactly
      expect(tta).toEqual(plain);
    }
  });

  it('maps each view back before averaging: a network that outputs x/(S-1) averages to 1/2 under flips', async () => {
    // out(y, x) = x / (S - 1) for any input: identity and flip-v give x/(S-1), flip-h and flip-hv give (S-1-x)/(S-1).
    const ramp: Network = async (_x, n) => Float32Array.from({ length: n * plane }, (_, i) => (i % S) / (S - 1));
    const p = await predictWithTta(ramp, new Float32Array(3 * plane), 1, S, 'flips');
    for (const v of p) expect(v).toBeCloseTo(0.5, 7);
  });

  it('runs every view of every image in one network call', async () => {
    const calls: number[] = [];
    const counting: Network = async (x, n) => {
      calls.push(n);
      return pointwise(x, n);
    };
    await predictWithTta(counting, new Float32Array(3 * 3 * plane), 3, S, 'd4');
    expect(calls).toEqual([24]);
  });
});

describe('predictEveryTta', () => {
  it('gives each mode exactly what predictWithTta gives, from one run of the d4 views', async () => {
    const rand = seeded(11);
    // not equivariant: depends on position, so every mode differs
    const net: Network = async (x, n) => Float32Array.from({ length: n * plane }, (_, i) => 1 / (1 + Math.exp(-(x[Math.floor(i / plane) * 3 * plane + (i % plane)] + (i % S) / S))));
    const x = uniform(rand, 2 * 3 * plane, -1, 1);
    let calls = 0;
    const counted: Network = (a, n) => {
      calls++;
      return net(a, n);
    };
    const every = await predictEveryTta(counted, x, 2, S);
    expect(calls).toBe(1);
    for (const mode of ['none', 'flips', 'd4'] as const) expect(every[mode]).toEqual(await predictWithTta(net, x, 2, S, mode));
    expect(every.flips).not.toEqual(every.none);
  });
});
