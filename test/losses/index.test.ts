import { LOSSES, lossTable, resolveLoss } from '../../src/losses';
import { gradCheck, input } from '../helpers/gradcheck';

describe('the loss table', () => {
  test('ids are positions, names are unique: the study\'s 0..14, then 15 bce_dice_loss', () => {
    LOSSES.forEach((l, k) => expect(l.id).toBe(k));
    expect(new Set(LOSSES.map((l) => l.name)).size).toBe(LOSSES.length);
    expect(LOSSES.map((l) => l.name).slice(0, 5)).toEqual(['BCELoss', 'bce_loss', 'dice_loss', 'focal_loss', 'tversky_loss_alpha_0.00']);
    expect(LOSSES[14].name).toBe('tversky_loss_alpha_1.00');
    expect(LOSSES[15].name).toBe('bce_dice_loss');
    expect(LOSSES).toHaveLength(16);
  });

  test('a loss is found by number or name; an unknown one lists the table', () => {
    expect(resolveLoss(15)).toBe(LOSSES[15]);
    expect(resolveLoss('BCE_DICE_LOSS')).toBe(LOSSES[15]);
    expect(resolveLoss(' 3 ').name).toBe('focal_loss');
    expect(() => resolveLoss(16)).toThrow(/unknown loss '16': expected a number or a name from\n[\s\S]*15 {2}bce_dice_loss/);
    expect(lossTable()).toMatch(/^losses:\n {3}0 {2}BCELoss\n[\s\S]* 15 {2}bce_dice_loss$/);
  });
});

/**
 * Each loss's gradient with respect to the logits against central differences (float64 sums of the
 * float32 outputs). Masks are fixed 0/1; logits of scale 2 reach both tails of the sigmoid.
 */
describe('every loss\'s gradient matches finite differences', () => {
  const shape = [2, 1, 4, 5];
  const mask = { name: 'mask', shape, data: new Float32Array(40).map((_, i) => (i % 7 < 3 || i === 25 ? 1 : 0)), diff: false };
  test.each(LOSSES.map((l) => [l.id, l.name]))('%i %s', async (id) => {
    const r = await gradCheck((g, [x, y]) => LOSSES[id].build({ g, logits: x, prob: g.op1('Sigmoid', [x]), mask: y }), [input('logits', shape, 60 + id, 2), mask], { eps: 1e-2 });
    // float32 differences of a mean over 40 pixels: worst 6e-4 seen; a wrong term is off by O(1)
    expect(r.worst).toBeLessThan(5e-3);
  });
});
