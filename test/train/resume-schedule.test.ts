import { cosineLr } from '../../src/optim/schedule';
import { warnStretchedCosine } from '../../src/train/trainer';

const finished = { kind: 'cosine' as const, base: 1e-3, epochs: 10, warmup: 2, epoch: 10 };
const say = (saved: Parameters<typeof warnStretchedCosine>[0], s: Parameters<typeof warnStretchedCosine>[1]) => {
  const lines: string[] = [];
  warnStretchedCosine(saved, s, (l) => lines.push(l));
  return lines;
};

describe('resuming a cosine run with another --epochs', () => {
  it('says loudly that the learning rate goes back up, with both rates', () => {
    const before = cosineLr(finished, 10);
    const after = cosineLr({ ...finished, epochs: 12 }, 11);
    expect(after).toBeGreaterThan(before);
    expect(say(finished, { schedule: 'cosine', epochs: 12, lr: 1e-3, warmupEpochs: 2 })).toEqual([
      `warning: --epochs 12 redraws this run's cosine schedule (planned over 10 epochs) from epoch 11: the learning rate goes back UP from ${before.toExponential(1)} (epoch 10) to ${after.toExponential(1)} (epoch 11) and decays to 0 at epoch 12. To keep it low instead, resume with a lower --lr and --allow-change lr.`,
    ]);
  });

  it('is silent when the length is unchanged or the schedule is not cosine', () => {
    expect(say(finished, { schedule: 'cosine', epochs: 10, lr: 1e-3, warmupEpochs: 2 })).toEqual([]);
    expect(say({ kind: 'ReduceLROnPlateau' } as never, { schedule: 'plateau', epochs: 12, lr: 1e-3, warmupEpochs: 0 })).toEqual([]);
  });
});
