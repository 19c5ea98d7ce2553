/**
 * The train step in place (src/train/step.ts) against the step as the trainer ran it before: fresh
 * output tensors each step, taken over by ModelState.absorb. Bit for bit, on the pipelines the
 * trainer compiles (this CPU's, NCHWc where it has them, and the portable one of the GPU providers).
 */
import * as ort from 'onnxruntime-node';
import { parameterSpecs, pipeline, resolveConfig, targetFor, trainStepGraph, type Target } from '../../src/graphs';
import * as N from '../../src/onnx/names';
import { serialize } from '../../src/onnx/proto';
import { openSession } from '../../src/onnx/session';
import { ModelState } from '../../src/checkpoint/state';
import { TrainStep } from '../../src/train/step';
import { seeded } from '../helpers/random';

const S = 32;

/** Two batches of `count` images: uniform noise and a random disc as the mask (seeded). */
function batches(count: number, seed: number): { image: Float32Array; mask: Float32Array }[] {
  const rand = seeded(seed);
  return [0, 1].map(() => {
    const image = new Float32Array(count * 3 * S * S).map(() => 2 * rand() - 1);
    const mask = new Float32Array(count * S * S);
    for (let b = 0; b < count; b++) {
      const [cy, cx, r] = [S * (0.3 + 0.4 * rand()), S * (0.3 + 0.4 * rand()), S * (0.1 + 0.2 * rand())];
      for (let i = 0; i < S; i++) for (let j = 0; j < S; j++) mask[b * S * S + i * S + j] = (i - cy) ** 2 + (j - cx) ** 2 < r * r ? 1 : 0;
    }
    return { image, mask };
  });
}

async function setup(model: number, target: Target) {
  const c = resolveConfig({ model, loss: 9, imageSize: S, width: 1 / 16, seed: 3 });
  const session = await openSession(serialize(trainStepGraph(c, pipeline(c, target))));
  const specs = parameterSpecs(c);
  return { c, session, inPlace: ModelState.fresh(c, specs), fresh: ModelState.fresh(c, specs) };
}

/** The step as the trainer ran it before: fresh outputs, absorbed. */
async function freshStep(session: ort.InferenceSession, state: ModelState, b: { image: Float32Array; mask: Float32Array }, count: number, lr: number): Promise<number> {
  const out = await session.run({
    ...state.feeds(session.inputNames),
    [N.IMAGE]: new ort.Tensor('float32', Float32Array.from(b.image), [count, 3, S, S]),
    [N.MASK]: new ort.Tensor('float32', Float32Array.from(b.mask), [count, 1, S, S]),
    [N.LR]: new ort.Tensor('float32', Float32Array.of(lr), []),
    [N.STEP]: new ort.Tensor('float32', Float32Array.of(state.step + 1), []),
  });
  state.absorb(out);
  return out[N.LOSS].data[0] as number;
}

function expectSameState(a: ModelState, b: ModelState): void {
  expect(a.step).toBe(b.step);
  expect(a.batchesTracked).toBe(b.batchesTracked);
  for (const map of ['values', 'm', 'v'] as const) {
    expect([...a[map].keys()]).toEqual([...b[map].keys()]);
    for (const [k, x] of a[map]) expect({ k, same: Buffer.compare(Buffer.from(x.buffer, x.byteOffset, x.byteLength), Buffer.from(b[map].get(k)!.buffer, b[map].get(k)!.byteOffset, b[map].get(k)!.byteLength)) }).toEqual({ k, same: 0 });
  }
}

describe('the train step in place', () => {
  const targets: [string, () => Promise<Target>][] = [
    ["this CPU's pipeline", () => targetFor('cpu')],
    ['the portable pipeline (GPU providers)', async () => ({ device: 'cuda' })],
  ];
  for (const [model, name] of [[0, 'SegNet'], [1, 'UNet'], [2, 'UNet_stride'], [3, 'UNet_dilate']] as const) {
    for (const [what, target] of targets) {
      test(`${name}, ${what}: the same losses, weights, moments and BN statistics, bit for bit, as fresh outputs each step`, async () => {
        const { session, inPlace, fresh } = await setup(model, await target());
        const step = new TrainStep(session, inPlace, S);
        const data = batches(2, 5);
        const lrs = [1e-3, 3e-3, 2e-3, 1e-3];
        for (let k = 0; k < lrs.length; k++) {
          const b = data[k % 2];
          const a = await step.run(b.image, b.mask, 2, lrs[k]);
          const f = await freshStep(session, fresh, b, 2, lrs[k]);
          expect(Number.isFinite(a)).toBe(true);
          expect(a).toBe(f);
        }
        expectSameState(inPlace, fresh);
        await session.release();
      });
    }
  }

  test('allocates no state buffers in the steady state: the same buffers fed and filled, step after step', async () => {
    const { session, inPlace } = await setup(1, await targetFor('cpu'));
    const step = new TrainStep(session, inPlace, S);
    const data = batches(2, 6);
    await step.run(data[0].image, data[0].mask, 2, 1e-3);
    const before = step.buffers();
    const held = new Map([...inPlace.values, ...[...inPlace.m].map(([k, x]) => [`m:${k}`, x] as const), ...[...inPlace.v].map(([k, x]) => [`v:${k}`, x] as const)]);
    const snapshot = new Map([...held].map(([k, x]) => [k, Float32Array.from(x)]));
    for (let k = 0; k < 3; k++) await step.run(data[(k + 1) % 2].image, data[(k + 1) % 2].mask, 2, 1e-3);
    const after = step.buffers();
    expect(after.size).toBe(before.size);
    expect(before.size).toBeGreaterThan(0);
    for (const [name, buf] of before) expect({ name, same: after.get(name) === buf }).toEqual({ name, same: true });
    // ModelState still holds those buffers, and the steps changed them (so the outputs went there)
    const now = new Map([...inPlace.values, ...[...inPlace.m].map(([k, x]) => [`m:${k}`, x] as const), ...[...inPlace.v].map(([k, x]) => [`v:${k}`, x] as const)]);
    for (const [k, x] of held) expect({ k, same: now.get(k) === x }).toEqual({ k, same: true });
    // every weight moved (weight decay alone moves a non-zero one), so the outputs went into those buffers
    const weights = [...inPlace.values.keys()].filter((k) => k.endsWith('.weight'));
    expect(weights.length).toBeGreaterThan(0);
    for (const k of weights) expect({ k, moved: held.get(k)!.some((y, i) => y !== snapshot.get(k)![i]) }).toEqual({ k, moved: true });
    expect(step.rewrapped).toBe(0);
    await session.release();
  });

  test('takes over a state array replaced from outside (a load) instead of writing into the old one', async () => {
    const { session, inPlace, fresh } = await setup(3, await targetFor('cpu'));
    const step = new TrainStep(session, inPlace, S);
    const data = batches(1, 7);
    await step.run(data[0].image, data[0].mask, 1, 1e-3);
    await freshStep(session, fresh, data[0], 1, 1e-3);
    const name = [...inPlace.values.keys()][0];
    const old = inPlace.values.get(name)!;
    inPlace.values.set(name, Float32Array.from(old));
    await step.run(data[1].image, data[1].mask, 1, 1e-3);
    await freshStep(session, fresh, data[1], 1, 1e-3);
    expect(step.rewrapped).toBe(1);
    expectSameState(inPlace, fresh);
    await session.release();
  });

  test('a batch whose size does not match its count is refused with the numbers', async () => {
    const { session, inPlace } = await setup(1, await targetFor('cpu'));
    const step = new TrainStep(session, inPlace, S);
    const b = batches(2, 8)[0];
    await expect(step.run(b.image, b.mask, 3, 1e-3)).rejects.toThrow(`a batch of 3 images has ${2 * 3 * S * S} values, expected ${3 * 3 * S * S}`);
    await session.release();
  });
});
