import { resolveConfig } from '../../src/graphs';
import { checkBatchMemory, resolveWorkers, trainBytesPerImage } from '../../src/train/bounds';
import { melseg } from '../helpers/cli';

const MiB = 2 ** 20;

describe('--workers', () => {
  it('refuses a negative or fractional count, naming the range', () => {
    expect(() => resolveWorkers(-1, 2)).toThrow('--workers -1: expected a whole number from 0 (augment on the main thread) to 2 (the CPU cores this process may use)');
    expect(() => resolveWorkers(1.5, 2)).toThrow('--workers 1.5');
  });

  it('uses at most the cores this process may use, and says so', () => {
    const notes: string[] = [];
    expect(resolveWorkers(1000, 2, (l) => notes.push(l))).toBe(2);
    expect(notes).toEqual(['note: --workers 1000 is more than the 2 CPU core(s) this process may use; using 2 worker(s)']);
    expect(resolveWorkers(0, 2)).toBe(0);
    expect(resolveWorkers(2, 2)).toBe(2);
  });

  it('melseg train --workers -1 fails before any data is read', () => {
    const r = melseg(['train', '--data', 'synthetic:8', '--workers', '-1', '--out', '/nonexistent-never-created']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('--workers -1: expected a whole number from 0');
  });
});

describe('the batch of a training step fits memory', () => {
  const c = resolveConfig({ model: 3, loss: 15, imageSize: 256, width: 1 });

  it('estimates at least 1.5x the forward activations: UNet_dilate 256 px width 1 about 0.86 GiB per image (measured 2.16 GiB at batch 2)', () => {
    const per = trainBytesPerImage(c);
    expect(per / MiB).toBeGreaterThan(850);
    expect(per / MiB).toBeLessThan(900);
    expect(trainBytesPerImage(resolveConfig({ model: 3, loss: 15, imageSize: 128, width: 1 }))).toBeCloseTo(per / 4, -6);
  });

  it('returns the batch a step really uses: min(--batch-size, training images)', () => {
    expect(checkBatchMemory(c, 100000, 12, 64 * 2 ** 30)).toBe(12);
    expect(checkBatchMemory(c, 8, 12, 64 * 2 ** 30)).toBe(8);
  });

  it('refuses a batch above the memory this process may use, naming the batch that fits', () => {
    const small = resolveConfig({ model: 3, loss: 15, imageSize: 64, width: 1 });
    expect(() => checkBatchMemory(small, 100000, 1500, 6 * 2 ** 30, 50 * MiB)).toThrow(
      '--batch-size 100000 (a batch of all 1500 training images) at 64 px, width 1 needs about 73.2 GiB per training step (50 MiB per image), but this process can use 6.0 GiB (available memory). Use --batch-size 122 or less, or a smaller --image-size or --width.',
    );
    expect(() => checkBatchMemory(small, 4, 1500, 10 * MiB, 50 * MiB)).toThrow('not enough for one image). Use a smaller --image-size or --width, or free memory.');
  });
});
