import { LOSSES } from '../../src/losses';
import { MODELS } from '../../src/models';
import { LOSS_NAMES, MODEL_NAMES, compareNames, lossName, modelName } from '../../src/report/names';

describe('model and loss names', () => {
  test('are the names of the one model table and the one loss table, in their order', () => {
    expect(MODEL_NAMES).toEqual(MODELS.map((m) => m.name));
    expect(LOSS_NAMES).toEqual(LOSSES.map((l) => l.name));
    MODELS.forEach((m, i) => expect(modelName(i)).toBe(m.name));
    LOSSES.forEach((l, i) => expect(lossName(i)).toBe(l.name));
  });

  test("keep the study's numbering: tversky alpha = (k - 4) / 10 with two decimals", () => {
    expect(MODEL_NAMES.slice(0, 4)).toEqual(['SegNet', 'UNet', 'UNet_stride', 'UNet_dilate']);
    expect(LOSS_NAMES.slice(0, 4)).toEqual(['BCELoss', 'bce_loss', 'dice_loss', 'focal_loss']);
    expect(lossName(4)).toBe('tversky_loss_alpha_0.00');
    expect(lossName(5)).toBe('tversky_loss_alpha_0.10');
    expect(lossName(14)).toBe('tversky_loss_alpha_1.00');
  });

  test('an index outside a table names the valid range and both ends of the table', () => {
    const n = LOSS_NAMES.length;
    expect(() => lossName(n)).toThrow(`expected a loss number 0..${n - 1} (0 BCELoss .. ${n - 1} ${LOSS_NAMES[n - 1]}); found ${n}.`);
    expect(() => modelName(1.5)).toThrow(/expected a model number 0\.\.4 \(0 SegNet \.\. 4 EGE-UNet\); found 1\.5/);
  });

  test('sort in table order, unknown names after the table alphabetically', () => {
    const names = ['zeta', 'tversky_loss_alpha_0.10', 'alpha', 'BCELoss', 'dice_loss'];
    expect([...names].sort((a, b) => compareNames(LOSS_NAMES, a, b))).toEqual(['BCELoss', 'dice_loss', 'tversky_loss_alpha_0.10', 'alpha', 'zeta']);
  });
});
