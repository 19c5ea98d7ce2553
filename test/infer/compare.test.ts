import type { Dataset } from '../../src/data';
import { compareSettings } from '../../src/infer/compare';
import type { LoadedNetwork } from '../../src/infer/model';
import type { RunData } from '../../src/infer/rundata';
import type { Network } from '../../src/infer/tta';

// 6 x 6 images whose truth is the 3 x 3 block at (1..3, 1..3). The "network" ignores its input and
// predicts that block with a hole in its centre, plus a speck at (5, 5).
const S = 6;
const truth = Uint8Array.from({ length: S * S }, (_, i) => (i % S >= 1 && i % S <= 3 && Math.floor(i / S) >= 1 && Math.floor(i / S) <= 3 ? 1 : 0));
const predicted = Float32Array.from(truth, (v, i) => (i === 2 * S + 2 ? 0.2 : i === S * S - 1 ? 0.9 : v ? 0.8 : 0.1));
const net: Network = async (_x, n) => {
  const out = new Float32Array(n * S * S);
  for (let b = 0; b < n; b++) out.set(predicted, b * S * S);
  return out;
};

function runData(n: number): RunData {
  const ids = Array.from({ length: n }, (_, i) => `s${i}`);
  const dataset: Dataset = {
    layout: 'synthetic', root: 'synthetic:4', ids, size: S, images: new Uint8Array(n * S * S * 3), masks: new Uint8Array(n * S * S).map((_, i) => truth[i % (S * S)]),
    origSizes: ids.map(() => [S, S]), sources: ids.map(() => ''), fromCache: false, cacheFile: null, sourceRes: null, warnings: [],
  };
  return {
    spec: 'synthetic:4', dataset, truth: async (i) => ({ data: truth, width: S, height: S }),
    split: { train: [], valid: ['s0', 's1'], test: ['s2', 's3'] }, splitFile: 'split.json',
  };
}

describe('compareSettings', () => {
  it('scores every combination of the options, at the fixed threshold and at the one auto picks on valid', async () => {
    const c = await compareSettings({ run: net } as LoadedNetwork, runData(4), 'test', { threshold: 0.5, batchSize: 3 });
    expect(c).toMatchObject({ split: 'test', images: 2, validImages: 2, threshold: 0.5 });
    expect(c.rows).toHaveLength(12);
    const row = (lc: boolean, fh: boolean) => c.rows.find((r) => r.tta === 'none' && r.largestComponent === lc && r.fillHoles === fh)!;
    // raw: 8 of the 9 block pixels plus the speck -> IoU 8/10
    expect(row(false, false).fixed).toEqual({ mean: 0.8, std: 0 });
    expect(row(true, false).fixed.mean).toBeCloseTo(8 / 9, 12); // the speck removed
    expect(row(false, true).fixed.mean).toBeCloseTo(9 / 10, 12); // the hole filled
    expect(row(true, true).fixed).toEqual({ mean: 1, std: 0 });
    expect(row(true, true).auto).toEqual({ threshold: 0.5, mean: 1, std: 0 });
  });

  it('has no auto column when the scored split is the one auto would tune on', async () => {
    const c = await compareSettings({ run: net } as LoadedNetwork, runData(4), 'valid', { threshold: 0.5, batchSize: 8 });
    expect(c.validImages).toBeUndefined();
    expect(c.rows.every((r) => r.auto === undefined)).toBe(true);
  });
});
