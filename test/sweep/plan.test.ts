/**
 * The sweep's plan alone (planSweep): what each run still needs, read from its folder, with no
 * training. Run folders are written by hand: a last.ckpt holding only a trainer state, history.json,
 * an eval_test.csv.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { saveCheckpointSync } from '../../src/checkpoint/checkpoint';
import { planSweep, sweepCombinations } from '../../src/sweep/sweep';
import type { SweepState } from '../../src/sweep/state';

const combos = sweepCombinations([0], [4, 5, 9], 32, 1 / 16, 3);
const EPOCHS = 2;

function state(fresh: boolean, runs: SweepState['runs'] = {}): SweepState {
  return { version: 2, recipe: {} as SweepState['recipe'], fresh, status: 'running', startedAt: '', updatedAt: '', epochs: EPOCHS, models: [0], losses: [4, 5, 9], shard: null, resultsFile: '', runs, errors: {} };
}

/** A run folder whose last.ckpt finished `epochs` epochs; with history.json and the test score when asked. */
function runFolder(artifacts: string, run: (typeof combos)[number], epochs: number, extra: { history?: boolean; testScore?: boolean; best?: boolean } = {}): void {
  const dir = path.join(artifacts, run.runId);
  fs.mkdirSync(dir, { recursive: true });
  const history = Array.from({ length: epochs }, (_, i) => ({ epoch: i + 1, trainLoss: 1, validLoss: 1, iou: 0.5, lr: 1e-3, seconds: 1, imagesPerSecond: 1 }));
  const meta = { model: run.modelId, modelName: run.model, loss: run.lossId, lossName: run.loss, imageSize: 32, width: 1 / 16 };
  const trainerState = { epoch: epochs, schedule: { kind: 'plateau' }, history, best: null, split: { train: [], valid: [], test: [] }, dataset: 'synthetic:12' };
  saveCheckpointSync(path.join(dir, 'last.ckpt'), { meta, params: {}, trainerState });
  if (extra.best) saveCheckpointSync(path.join(dir, 'best.ckpt'), { meta, params: {} });
  if (extra.history) fs.writeFileSync(path.join(dir, 'history.json'), '{}\n');
  if (extra.testScore) fs.writeFileSync(path.join(dir, 'eval_test.csv'), 'id\n');
}

describe('planSweep', () => {
  const artifacts = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-plan-'));
  const [a, b, c] = combos;
  runFolder(artifacts, a, EPOCHS, { history: true, best: true });
  runFolder(artifacts, b, 1);
  runFolder(artifacts, c, EPOCHS, { history: true, best: true, testScore: true });
  const summary = (plan: ReturnType<typeof planSweep>) => plan.map((p) => [p.c.runId, p.own, p.progress?.epoch ?? null, p.finished, p.missing]);

  test('a finished run is finished, a run after epoch 1 of 2 is to resume, and nothing is written', () => {
    const before = fs.readdirSync(artifacts, { recursive: true }).sort();
    const plan = planSweep(combos, { artifacts, state: state(false), epochs: EPOCHS, scoreTest: false });
    expect(summary(plan)).toEqual([
      [a.runId, true, 2, true, []],
      [b.runId, true, 1, false, []],
      [c.runId, true, 2, true, []],
    ]);
    expect(fs.readdirSync(artifacts, { recursive: true }).sort()).toEqual(before);
  });

  test('with the test split scored, a trained run without its test score still needs it', () => {
    const plan = planSweep(combos, { artifacts, state: state(false), epochs: EPOCHS, scoreTest: true });
    expect(summary(plan)[0]).toEqual([a.runId, true, 2, false, ['its test score']]);
    expect(summary(plan)[2]).toEqual([c.runId, true, 2, true, []]);
  });

  test('a fresh sweep (--new-dataframe 1) reads no checkpoint of a run it has not started', () => {
    const plan = planSweep(combos, { artifacts, state: state(true, { [b.runId]: 'started' }), epochs: EPOCHS, scoreTest: false });
    expect(summary(plan)).toEqual([
      [a.runId, false, null, false, []],
      [b.runId, true, 1, false, []],
      [c.runId, false, null, false, []],
    ]);
  });

  test('more epochs asked than trained: no run is finished', () => {
    const plan = planSweep(combos, { artifacts, state: state(false), epochs: 3, scoreTest: false });
    expect(plan.map((p) => p.finished)).toEqual([false, false, false]);
  });
});
