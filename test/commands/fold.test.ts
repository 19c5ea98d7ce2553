import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { melseg } from '../helpers/cli';

const CFG = ['--model', '1', '--loss', '0', '--data', 'synthetic:24', '--epochs', '1', '--batch-size', '4', '--image-size', '32', '--width', '0.0625', '--seed', '3', '--quiet'];
const RUN = 'UNet_BCELoss_s32_w0.0625_seed3';

describe('melseg train --fold, then an ensemble of the fold models', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-fold-'));
  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));
  const split = (i: number) => JSON.parse(fs.readFileSync(path.join(out, 'artifacts', `${RUN}_fold${i}of3`, 'split.json'), 'utf8'));
  const best = (i: number) => path.join(out, 'artifacts', `${RUN}_fold${i}of3`, 'best.ckpt');

  beforeAll(() => {
    for (const i of [1, 2, 3]) {
      const r = melseg(['train', ...CFG, '--fold', `${i}/3`, '--out', out]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    }
  });

  test('each fold has its own run folder; the valid parts cover the pooled train + valid images once; test is shared', () => {
    const s = [1, 2, 3].map(split);
    const pooled = [...s[0].train, ...s[0].valid].sort();
    expect(s.flatMap((x) => x.valid).sort()).toEqual(pooled);
    expect(s[1].test).toEqual(s[0].test);
    expect(s[2].test).toEqual(s[0].test);
    expect(s[0].test.length).toBeGreaterThan(0);
    expect(pooled.filter((id: string) => s[0].test.includes(id))).toEqual([]);
  });

  test('the three best.ckpt score the shared test images as an ensemble, and are refused on a valid split', () => {
    const r = melseg(['evaluate', '-c', best(1), '-c', best(2), '-c', best(3), '--split', 'test']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('ensemble of 3 checkpoints (mean probability)');
    expect(r.stdout).toMatch(new RegExp(`on ${split(1).test.length} test images`));
    const v = melseg(['evaluate', '-c', best(1), '-c', best(2), '--split', 'valid']);
    expect(v.status).not.toBe(0);
    expect(v.stderr).toContain(`training images of ${best(2)}`);
    expect(v.stderr).not.toMatch(/\n\s+at /);
  });
});
