import { bestPerCombination, chartedRunRows, markImageSizes, rankByBestIoU, sizeInRunId, sortRows } from '../../../src/report/results';
import { row } from '../helpers';

describe('bestPerCombination', () => {
  test('best metric and its first epoch from the best run of a combination; NaN ignored', () => {
    const rows = [
      row({ run: 'old', epoch: 1, metric: 0.5 }),
      row({ run: 'new', epoch: 1, metric: 0.5 }),
      row({ run: 'new', epoch: 2, metric: NaN }),
      row({ run: 'new', epoch: 3, metric: 0.7, train_loss: 0.1, valid_loss: 0.2 }),
      row({ run: 'new', epoch: 4, metric: 0.7, train_loss: 0.05, valid_loss: 0.25 }),
      row({ run: 'x', model: 'SegNet', epoch: 1, metric: NaN }),
    ];
    expect(bestPerCombination(rows)).toEqual([
      { model: 'SegNet', criterion: 'dice_loss', run: 'x', bestMetric: NaN, bestEpoch: NaN, finalTrainLoss: 0.5, finalValidLoss: 0.6, epochs: 1, runs: 1 },
      { model: 'UNet', criterion: 'dice_loss', run: 'new', bestMetric: 0.7, bestEpoch: 3, finalTrainLoss: 0.05, finalValidLoss: 0.25, epochs: 4, runs: 2 },
    ]);
  });

  test('a later but worse run (another seed or results file) is not reported as the best', () => {
    const rows = [
      row({ run: 'seed0', epoch: 1, metric: 0.6 }),
      row({ run: 'seed0', epoch: 2, metric: 0.9 }),
      row({ run: 'seed1', epoch: 1, metric: 0.5 }),
      row({ run: 'seed1', epoch: 2, metric: 0.55 }),
    ];
    const [b] = bestPerCombination(rows);
    expect([b.run, b.bestMetric, b.bestEpoch, b.runs]).toEqual(['seed0', 0.9, 2, 2]);
  });

  test('a tie of best IoU goes to the latest run (whose last row comes last)', () => {
    const rows = [row({ run: 'a', epoch: 1, metric: 0.8 }), row({ run: 'b', epoch: 1, metric: 0.8 }), row({ run: 'a', epoch: 2, metric: 0.7 })];
    expect(bestPerCombination(rows)[0].run).toBe('a');
  });
});

describe('sortRows and chartedRunRows', () => {
  test('study order: model table, then loss table, then epoch; unknown names last', () => {
    const rows = [
      row({ model: 'Other', epoch: 1 }),
      row({ model: 'UNet', criterion: 'tversky_loss_alpha_0.10', epoch: 2 }),
      row({ model: 'UNet', criterion: 'tversky_loss_alpha_0.10', epoch: 1 }),
      row({ model: 'UNet', criterion: 'BCELoss', epoch: 1 }),
      row({ model: 'SegNet', epoch: 1 }),
    ];
    expect(sortRows(rows).map((r) => `${r.model}/${r.criterion}/${r.epoch}`)).toEqual([
      'SegNet/dice_loss/1',
      'UNet/BCELoss/1',
      'UNet/tversky_loss_alpha_0.10/1',
      'UNet/tversky_loss_alpha_0.10/2',
      'Other/dice_loss/1',
    ]);
  });

  test('chartedRunRows keeps only the run each combination is summarised by (its best)', () => {
    const rows = [row({ run: 'a', epoch: 1, metric: 0.9 }), row({ run: 'b', epoch: 1 }), row({ run: 'b', epoch: 2 }), row({ run: 'c', model: 'SegNet' })];
    expect(chartedRunRows(rows).map((r) => `${r.run}:${r.epoch}`)).toEqual(['c:1', 'a:1']);
  });
});

describe('rankByBestIoU', () => {
  test('best first; combinations without any IoU last, in their given order', () => {
    const best = bestPerCombination([
      row({ criterion: 'BCELoss', metric: NaN }),
      row({ criterion: 'bce_loss', metric: 0.7 }),
      row({ criterion: 'dice_loss', metric: NaN }),
      row({ criterion: 'focal_loss', metric: 0.9 }),
    ]);
    expect(rankByBestIoU(best).map((b) => b.criterion)).toEqual(['focal_loss', 'bce_loss', 'BCELoss', 'dice_loss']);
  });
});

describe('markImageSizes', () => {
  const rows = [row({ run: 'UNet_dice_loss_s64_w0.125_seed0' }), row({ run: 'isic', metric: 0.6 }), row({ run: 'mystery' })];
  const sizes: Record<string, number> = { isic: 128 };
  const sizeOf = (run: string) => sizes[run] ?? sizeInRunId(run);

  test('runs of two image sizes become two combinations, each model marked with its size', () => {
    const marked = markImageSizes(rows, sizeOf);
    expect(marked.map((r) => r.model)).toEqual(['UNet @ 64 px', 'UNet @ 128 px', 'UNet']);
    expect(bestPerCombination(marked).map((b) => `${b.model}:${b.bestMetric}`)).toEqual(['UNet:0.7', 'UNet @ 128 px:0.6', 'UNet @ 64 px:0.7']);
  });

  test('rows of one size are left as they are', () => {
    expect(markImageSizes(rows.slice(0, 1).concat(rows[2]), sizeOf)).toEqual([rows[0], rows[2]]);
  });

  test('the size of a default run id', () => {
    expect(sizeInRunId('UNet_dilate_bce_dice_loss_s128_w0.25_seed0')).toBe(128);
    expect(sizeInRunId('UNet_dilate_bce_dice_loss_s128_w0.25_seed0_fold2of5')).toBe(128);
    expect(sizeInRunId('my_run')).toBeUndefined();
  });
});
