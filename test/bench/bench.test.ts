import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { median, parseArgs, table } from '../../src/bench/args';
import { stepFlops } from '../../src/bench/flops';
import { summarizeProfile } from '../../src/bench/profile';
import { TrainStepper } from '../../src/bench/stepper';
import { resolveConfig } from '../../src/graphs';
import * as N from '../../src/onnx/names';

/** The benchmark tools' arithmetic and plumbing (no timings are asserted anywhere). */
describe('bench tools', () => {
  test('FLOP model: forward from conv shapes, backward = dW + dX (no dX for the image layer)', () => {
    const c = resolveConfig({ model: 1, loss: 9, imageSize: 64, width: 0.25 });
    const f1 = stepFlops(c, 1);
    const f4 = stepFlops(c, 4);
    expect(f4.step).toBeCloseTo(4 * f1.step, 0);
    const first = 2 * 16 * 64 * 64 * 3 * 9; // conv1.0: 3 -> 16 channels, 3x3, 64x64, one image
    expect(f1.backward).toBeCloseTo(2 * f1.forward - first, 0);
    // UNet counts its up-convolutions at full resolution (what PyTorch computes), not melseg's sub-pixel work
    expect(f1.convs).toBe(23);
    const up = 2 * 32 * 64 * 64 * 16 * 9; // deconv2.conv: upsampled to 64x64, 32 -> 16 channels
    expect(f1.forward).toBeGreaterThan(up);
  });

  test('FLOP model counts a ConvTranspose by its input pixels', () => {
    const c = resolveConfig({ model: 3, loss: 9, imageSize: 64, width: 0.25 });
    const plain = stepFlops(resolveConfig({ model: 1, loss: 9, imageSize: 64, width: 0.25 }), 1);
    const dil = stepFlops(c, 1);
    expect(dil.convs).toBe(27); // 18 block convs + last + 4 pooling convs + 4 ConvTransposes
    expect(dil.forward).toBeLessThan(plain.forward);
  });

  test('profile summary: kernel time by op type over the runs after warm-up', () => {
    const ev = [
      { cat: 'Node', name: 'a_kernel_time', dur: 999, args: { op_name: 'Conv' } },
      { cat: 'Session', name: 'model_run', dur: 2000 },
      { cat: 'Node', name: 'a_kernel_time', dur: 300, args: { op_name: 'Conv' } },
      { cat: 'Node', name: 'a_fence_before', dur: 5, args: { op_name: 'Conv' } },
      { cat: 'Node', name: 'b_kernel_time', dur: 100, args: { op_name: 'Add' } },
      { cat: 'Session', name: 'model_run', dur: 500 },
      { cat: 'Node', name: 'a_kernel_time', dur: 500, args: { op_name: 'Conv' } },
      { cat: 'Node', name: 'b_kernel_time', dur: 100, args: { op_name: 'Add' } },
      { cat: 'Session', name: 'model_run', dur: 700 },
    ];
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-prof-test-')), 'p.json');
    fs.writeFileSync(file, JSON.stringify(ev));
    const s = summarizeProfile(file, 1);
    expect(s.runs).toBe(2);
    expect(s.modelRunMs).toBeCloseTo(0.6, 6);
    expect(s.ops.map((o) => [o.op, o.ms, o.calls])).toEqual([['Conv', 0.4, 1], ['Add', 0.1, 1]]);
    expect(s.ops[0].share).toBeCloseTo(0.8, 6);
  });

  test('argument parsing names the argument it rejects', () => {
    const spec = { model: 'string', steps: 'number', profile: 'flag' } as const;
    expect(parseArgs(['--model', '3', '--steps=4', '--profile'], spec, 'usage')).toEqual({ model: '3', steps: 4, profile: true });
    expect(() => parseArgs(['--stepz', '4'], spec, 'usage')).toThrow(/--stepz.*expected one of --model, --steps, --profile/);
    expect(() => parseArgs(['--steps', 'many'], spec, 'usage')).toThrow(/--steps = 'many': expected a number/);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(table([['a', 'b'], ['xx', '1']])).toBe('a   b\n--  -\nxx  1');
  });

  test('the train-step loop feeds each step\'s parameters, moments and BN statistics back', async () => {
    const s = await TrainStepper.create({ model: 1, imageSize: 32, width: 1 / 16, batch: 2 });
    const feeds = (s as unknown as { feeds: Record<string, { data: Float32Array }> }).feeds;
    const w0 = Float32Array.from(feeds['conv1.0.weight'].data);
    const rv0 = Float32Array.from(feeds['conv1.1.running_var'].data);
    const t = await s.run();
    expect(t.totalMs).toBeGreaterThan(0);
    expect(Number.isFinite(s.lastLoss)).toBe(true);
    const w1 = feeds['conv1.0.weight'].data;
    expect(w1).not.toEqual(w0);
    expect(feeds[N.firstMoment('conv1.0.weight')].data.some((x) => x !== 0)).toBe(true);
    expect(feeds['conv1.1.running_var'].data).not.toEqual(rv0);
    await s.run();
    expect(feeds['conv1.0.weight'].data).not.toEqual(w1);
    await s.release();
  });
});
