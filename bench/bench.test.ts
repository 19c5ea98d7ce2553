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
import { Graph } from '../src/onnx/graph';
import * as N from '../src/onnx/names';
import { median, parseArgs, table } from './args';
import { stepFlops } from './flops';
import { inOrder, liveness } from './liveness';
import { summarizeProfile } from './profile';
import { TrainStepper } from './stepper';
import type { ModelState } from '../src/checkpoint/state';

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
    const state = (s as unknown as { state: ModelState }).state;
    const w0 = Float32Array.from(state.values.get('conv1.0.weight')!);
    const rv0 = Float32Array.from(state.values.get('conv1.1.running_var')!);
    const t = await s.run();
    assert.ok(t.totalMs > 0 && t.cpuMs > 0);
    assert.ok(Number.isFinite(s.lastLoss));
    const w1 = Float32Array.from(state.values.get('conv1.0.weight')!);
    assert.notDeepEqual(w1, w0);
    assert.ok(state.m.get('conv1.0.weight')!.some((x) => x !== 0));
    assert.notDeepEqual(state.values.get('conv1.1.running_var'), rv0);
    await s.run();
    assert.notDeepEqual(state.values.get('conv1.0.weight'), w1);
    assert.equal(state.step, 2);
    await s.release();
  });

  test('liveness: each value lives from its node to its last reader; the order of the walk decides the peak', () => {
    const g = new Graph('t');
    const x = g.input('x', [N.BATCH, 4]);
    const a = g.op('Relu', [x])[0];
    const b = g.op('Relu', [x])[0];
    const c = g.op('Add', [a, a])[0];
    const d = g.op('Add', [c, b])[0];
    g.output(d, 'y');
    // the new y is written in place (as the train step writes its state), so it takes no memory
    // graph order a, b, c, d: a, b and c live together (a is freed after c)
    const l = liveness(g, 2, { outputsInPlace: true });
    assert.equal(l.inputBytes, 32);
    assert.equal(l.peakBytes, 3 * 32);
    assert.equal(l.peakIndex, 2);
    // b run just before its reader: a is gone by then, so two values at most
    const names = g.nodes.map((n) => n.name);
    const late = inOrder(g, [names[0], names[2], names[1], names[3]]);
    assert.deepEqual(late.map((n) => n.name), [names[0], names[2], names[1], names[3]]);
    assert.equal(liveness(g, 2, { outputsInPlace: true, nodes: late }).peakBytes, 2 * 32);
    // a node the executor does not name (fused away) runs as soon as its inputs are ready
    assert.deepEqual(inOrder(g, [names[2], names[3]]).map((n) => n.name), names);
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
