import type { Value } from '../onnx/graph';
import { bceLoss } from './bce';
import type { LossDef } from './common';
import { mean } from './common';

/**
 * 15 bce_dice_loss (melseg's, not the study's): bce_loss on the logits plus a soft Dice loss taken per
 * image, then averaged over the batch:
 *   mean(x - x y + log(1 + e^-x))  +  1 - mean_n (2 sum(p y) + 1) / (sum p + sum y + 1),
 * the sums over one image's pixels. Per image, so a small lesion weighs as much as a large one; the
 * smoothing 1 keeps an empty mask with an empty prediction at Dice 1 and bounds the gradient there.
 */
export const bceDiceLoss: LossDef = {
  id: 15,
  name: 'bce_dice_loss',
  build: (x) => {
    const { g, prob, mask } = x;
    const perImage = (v: Value) => g.op1('ReduceSum', [v, g.i64([1, 2, 3])], { keepdims: 0 });
    const num = g.op1('Add', [g.op1('Mul', [perImage(g.op1('Mul', [prob, mask])), g.f32(2)]), g.f32(1)]);
    const den = g.op1('Add', [g.op1('Add', [perImage(prob), perImage(mask)]), g.f32(1)]);
    const dice = g.op1('Sub', [g.f32(1), mean(g, g.op1('Div', [num, den]))]);
    return g.op1('Add', [bceLoss.build(x), dice]);
  },
};
