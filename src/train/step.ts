/**
 * The fused train step, run in place. Every state tensor the step updates (parameters, AdamW
 * moments, BatchNorm running statistics) goes in and comes out in the same buffer: onnxruntime-node
 * fills pre-allocated output tensors (`session.run(feeds, fetches)`), so ModelState keeps the same
 * buffers step after step and onnxruntime's arena holds no output. What it does not save (measured,
 * README "Speed and memory"): the binding (onnxruntime-node 1.30) still returns a JS copy of every
 * fetched output (its Run converts each one with OrtValueToNapiValue, js/node/src/tensor_helper.cc:
 * a new ArrayBuffer and a memcpy for any CPU tensor, a pre-allocated one included; no option skips
 * it), the state's size each step, allocated while the arena is resident; handing those
 * copies back at once (a transfer into a closed MessageChannel) kept one set alive all the same and
 * left the peak where it was, so the step just drops them. And the outputs were never the arena's
 * peak: they are written after the backward pass has freed the activations.
 *
 * Why writing over an input is safe in this graph (trainStepGraph, src/graphs/build.ts): onnxruntime
 * never lends a graph input's buffer to an intermediate value, so a state buffer is written once, by
 * the node that computes its output; and every read of the old value happens before that write:
 * - a parameter w: the forward pass and the backward's dx = f(dy, w) (with what it reads of w, e.g.
 *   w transposed: src/passes/backward-side-inputs-first.ts renumbers such nodes, it does not cut
 *   them from dx) are ancestors of the input layer's gradient, which every AdamW update waits for
 *   (adamwScalars chains every gradient, that one included), and its own update reads w before the
 *   node that writes w' = w - lr (m^/(sqrt(v^) + eps) + wd w);
 * - a moment: only its own update reads it (m' = b1 m + (1 - b1) g, v' = b2 v + (1 - b2) g^2);
 * - a BatchNorm running statistic: only its own update (r' = (1 - momentum) r + momentum batch stat).
 * test/train/step.test.ts checks the result bit for bit against fresh output buffers.
 *
 * The cost: a step that throws inside session.run leaves the state half updated, so a failed step is
 * not retried from memory (the trainer stops; last.ckpt on disk is intact).
 */
import * as ort from 'onnxruntime-node';
import * as N from '../onnx/names';
import type { ModelState } from '../checkpoint/state';

/** One state tensor the step updates: where ModelState keeps it, and its graph input and output. */
interface Slot {
  map: Map<string, Float32Array>;
  key: string;
  input: string;
  output: string;
  shape: readonly number[];
  tensor: ort.Tensor;
}

/** A batch input of the step, per batch size (the last batch of an epoch may be smaller). */
class BatchInput {
  private readonly byCount = new Map<number, ort.Tensor>();
  constructor(private readonly perImage: readonly number[]) {}

  /** `data` copied into this input's buffer for `count` images (allocated once per count). */
  fill(data: Float32Array, count: number): ort.Tensor {
    let t = this.byCount.get(count);
    if (!t) {
      const n = this.perImage.reduce((a, b) => a * b, count);
      t = new ort.Tensor('float32', new Float32Array(n), [count, ...this.perImage]);
      this.byCount.set(count, t);
    }
    const buf = t.data as Float32Array;
    if (data.length !== buf.length) throw new Error(`train step: a batch of ${count} images has ${data.length} values, expected ${buf.length}`);
    buf.set(data);
    return t;
  }
}

export class TrainStep {
  private readonly slots: Slot[] = [];
  private readonly feeds: Record<string, ort.Tensor> = {};
  private readonly fetches: Record<string, ort.Tensor> = {};
  private readonly lr = new Float32Array(1);
  private readonly step = new Float32Array(1);
  private readonly loss = new Float32Array(1);
  private readonly image: BatchInput;
  private readonly mask: BatchInput;
  /** state tensors re-wrapped because something outside replaced ModelState's array (a load) */
  rewrapped = 0;

  constructor(private readonly session: ort.InferenceSession, private readonly state: ModelState, imageSize: number) {
    const fed = new Set(session.inputNames);
    const out = new Set(session.outputNames);
    const add = (map: Map<string, Float32Array>, key: string, input: string, shape: readonly number[]) => {
      const output = N.nextName(input);
      if (!fed.has(input)) return;
      if (!out.has(output)) throw new Error(`train step: the graph takes '${input}' but gives no '${output}'; rebuild its graphs (melseg build-graph)`);
      const data = map.get(key);
      if (!data) throw new Error(`train step: the model state has no '${key}' for the graph input '${input}'`);
      const slot: Slot = { map, key, input, output, shape, tensor: new ort.Tensor('float32', data, shape) };
      this.slots.push(slot);
      this.feeds[input] = slot.tensor;
      this.fetches[output] = slot.tensor;
    };
    for (const p of state.specs) {
      if (p.dtype === 'int64') continue;
      add(state.values, p.name, p.name, p.shape);
      if (!p.trainable) continue;
      add(state.m, p.name, N.firstMoment(p.name), p.shape);
      add(state.v, p.name, N.secondMoment(p.name), p.shape);
    }
    this.image = new BatchInput([3, imageSize, imageSize]);
    this.mask = new BatchInput([1, imageSize, imageSize]);
    this.feeds[N.LR] = new ort.Tensor('float32', this.lr, []);
    this.feeds[N.STEP] = new ort.Tensor('float32', this.step, []);
    this.fetches[N.LOSS] = new ort.Tensor('float32', this.loss, []);
  }

  /** The buffers the step reads and writes, by graph input (tests: they stay the same step after step). */
  buffers(): Map<string, Float32Array> {
    return new Map(this.slots.map((s) => [s.input, s.tensor.data as Float32Array]));
  }

  /**
   * One step on a batch of `count` images (NCHW, masks N1HW): the state is updated in place and its
   * step counters advance; returns the loss. A non-finite loss is returned like any other: the
   * caller decides (the weights are already updated with it).
   */
  async run(image: Float32Array, mask: Float32Array, count: number, lr: number): Promise<number> {
    for (const s of this.slots) {
      const cur = s.map.get(s.key)!;
      if (cur !== s.tensor.data) {
        s.tensor = new ort.Tensor('float32', cur, s.shape);
        this.feeds[s.input] = s.tensor;
        this.fetches[s.output] = s.tensor;
        this.rewrapped++;
      }
    }
    this.feeds[N.IMAGE] = this.image.fill(image, count);
    this.feeds[N.MASK] = this.mask.fill(mask, count);
    this.lr[0] = lr;
    this.step[0] = this.state.step + 1;
    await this.session.run(this.feeds, this.fetches);
    this.state.step += 1;
    this.state.batchesTracked += 1n;
    return this.loss[0];
  }
}
