/**
 * The benchmark tools' arithmetic and plumbing (no timings are asserted anywhere): npm run bench:test
 * (node's own test runner: the product's tests in test/ never import bench/).
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, test } from 'node:test';
import { resolveConfig } from '../src/graphs';
import * as N from '../src/onnx/names';
import { median, parseArgs, table } from './args';
import { stepFlops } from './flops';
import { summarizeProfile } from './profile';
import { TrainStepper } from './stepper';

const close = (a: number, b: number, digits: number) => assert.ok(Math.abs(a - b) < 10 ** -digits / 2, `${a} != ${b} to ${digits} digits`);

describe('bench tools', () => {
  test('FLOP model: forward from conv shapes, backward = dW + dX (no dX for the image layer)', () => {
    const c = resolveConfig({ model: 1, loss: 9, imageSize: 64, width: 0.25 });
    const f1 = stepFlops(c, 1);
    const f4 = stepFlops(c, 4);
    close(f4.step, 4 * f1.step, 0);
    const first = 2 * 16 * 64 * 64 * 3 * 9; // conv1.0: 3 -> 16 channels, 3x3, 64x64, one image
    close(f1.backward, 2 * f1.forward - first, 0);
    // UNet counts its up-convolutions at full resolution (what PyTorch computes), not melseg's sub-pixel work
    assert.equal(f1.convs, 23);
    const up = 2 * 32 * 64 * 64 * 16 * 9; // deconv2.conv: upsampled to 64x64, 32 -> 16 channels
    assert.ok(f1.forward > up);
  });

  test('FLOP model counts a ConvTranspose by its input pixels', () => {
    const c = resolveConfig({ model: 3, loss: 9, imageSize: 64, width: 0.25 });
    const plain = stepFlops(resolveConfig({ model: 1, loss: 9, imageSize: 64, width: 0.25 }), 1);
    const dil = stepFlops(c, 1);
    assert.equal(dil.convs, 27); // 18 block convs + last + 4 pooling convs + 4 ConvTransposes
    assert.ok(dil.forward < plain.forward);
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
    assert.equal(s.runs, 2);
    close(s.modelRunMs, 0.6, 6);
    assert.deepEqual(s.ops.map((o) => [o.op, o.ms, o.calls]), [['Conv', 0.4, 1], ['Add', 0.1, 1]]);
    close(s.ops[0].share, 0.8, 6);
  });

  test('argument parsing names the argument it rejects', () => {
    const spec = { model: 'string', steps: 'number', profile: 'flag' } as const;
    assert.deepEqual(parseArgs(['--model', '3', '--steps=4', '--profile'], spec, 'usage'), { model: '3', steps: 4, profile: true });
    assert.throws(() => parseArgs(['--stepz', '4'], spec, 'usage'), /--stepz.*expected one of --model, --steps, --profile/);
    assert.throws(() => parseArgs(['--steps', 'many'], spec, 'usage'), /--steps = 'many': expected a number/);
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
    assert.equal(table([['a', 'b'], ['xx', '1']]), 'a   b\n--  -\nxx  1');
  });

  test('the train-step loop feeds each step\'s parameters, moments and BN statistics back', async () => {
    const s = await TrainStepper.create({ model: 1, imageSize: 32, width: 1 / 16, batch: 2 });
    const feeds = (s as unknown as { feeds: Record<string, { data: Float32Array }> }).feeds;
    const w0 = Float32Array.from(feeds['conv1.0.weight'].data);
    const rv0 = Float32Array.from(feeds['conv1.1.running_var'].data);
    const t = await s.run();
    assert.ok(t.totalMs > 0 && t.cpuMs > 0);
    assert.ok(Number.isFinite(s.lastLoss));
    const w1 = feeds['conv1.0.weight'].data;
    assert.notDeepEqual(w1, w0);
    assert.ok(feeds[N.firstMoment('conv1.0.weight')].data.some((x) => x !== 0));
    assert.notDeepEqual(feeds['conv1.1.running_var'].data, rv0);
    await s.run();
    assert.notDeepEqual(feeds['conv1.0.weight'].data, w1);
    await s.release();
  });

  test('a variant may drop a device pass from its target\'s pipeline (here: keep MaxUnpool on a GPU target)', async () => {
    const gpu = await TrainStepper.create({ model: 1, imageSize: 32, width: 1 / 16, batch: 1, target: 'cuda' });
    const kept = await TrainStepper.create({ model: 1, imageSize: 32, width: 1 / 16, batch: 1, target: 'cuda', drop: ['maxpool-grad-by-comparison'] });
    assert.deepEqual([gpu.info.opCounts.MaxUnpool ?? 0, kept.info.opCounts.MaxUnpool], [0, 4]);
    await assert.rejects(TrainStepper.create({ model: 1, imageSize: 32, width: 1 / 16, batch: 1, drop: ['fold-everything'] }), /no device pass named fold-everything/);
    await gpu.release();
    await kept.release();
  });
});
