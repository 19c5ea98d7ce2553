import { bestPerCombination, latestRunRows, rankByBestIoU, sortRows } from '../../../src/report/results';
import { row } from '../helpers';

describe('bestPerCombination', () => {
  test('best metric and its first epoch from the latest run in file order; NaN ignored', () => {
    const rows = [
      row({ run: 'old', epoch: 1, metric: 0.9 }),
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
});

describe('sortRows and latestRunRows', () => {
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

  test('latestRunRows keeps only the run each combination is summarised by', () => {
    const rows = [row({ run: 'a', epoch: 1 }), row({ run: 'b', epoch: 1 }), row({ run: 'b', epoch: 2 }), row({ run: 'c', model: 'SegNet' })];
    expect(latestRunRows(rows).map((r) => `${r.run}:${r.epoch}`)).toEqual(['c:1', 'b:1', 'b:2']);
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
