/** Runs one loss of the table on given logits and masks, as the training graph's head feeds it. */
import * as ort from 'onnxruntime-node';
import { gradients } from '../../src/autodiff';
import { LOSSES } from '../../src/losses';
import { Graph } from '../../src/onnx/graph';
import { sessionFor } from '../../src/onnx/session';

/** The loss and its gradient with respect to the logits; probabilities are Sigmoid(logits). */
export async function evaluateLoss(id: number, logits: Float32Array, mask: Float32Array, shape: number[]): Promise<{ loss: number; dlogits: Float32Array }> {
  const g = new Graph('loss');
  const x = g.input('logits', shape);
  const y = g.input('mask', shape);
  const loss = LOSSES[id].build({ g, logits: x, prob: g.op1('Sigmoid', [x]), mask: y });
  const dx = gradients(g, loss, [x]).get(x.name)!;
  g.output(loss, 'loss');
  g.output(dx, 'dlogits');
  const session = await sessionFor(g);
  const r = await session.run({ logits: new ort.Tensor('float32', logits, shape), mask: new ort.Tensor('float32', mask, shape) });
  await session.release();
  return { loss: r.loss.data[0] as number, dlogits: r.dlogits.data as Float32Array };
}

/** sigmoid in float64. */
export const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
