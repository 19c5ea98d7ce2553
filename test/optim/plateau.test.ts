import { spawnSync } from 'child_process';
import { ReduceLROnPlateau, type PlateauOptions } from '../../src/optim/plateau';
import { Rng } from '../../src/data/rng';
import { oracleTest, pythonHas, PY } from '../helpers/oracle';

const itTorch = oracleTest('torch');

interface Case {
  name: string;
  lr: number;
  options: PlateauOptions;
  metrics: number[];
}

/** Seeded metric sequences: a rising-then-noisy-plateau Dice curve and a falling noisy loss. */
function cases(): Case[] {
  const r = Rng.derive(2024);
  const dice = Array.from({ length: 60 }, (_, i) => Math.min(0.85, 0.4 + 0.05 * i) + 0.002 * (r.float() - 0.5));
  // After the first, every value is within +0.009% of the best: below the 1e-4 relative threshold.
  const tinyGains = Array.from({ length: 40 }, (_, i) => (i === 0 ? 0.8 : 0.8 * (1 + 9e-5 * r.float())));
  const loss = Array.from({ length: 50 }, (_, i) => Math.max(0.2, 1 - 0.1 * i) + 0.05 * r.float());
  return [
    { name: 'PyTorch defaults, mode max', lr: 1e-3, options: {}, metrics: dice },
    { name: 'gains below the relative threshold count as bad', lr: 0.01, options: { patience: 3 }, metrics: tinyGains },
    { name: 'min mode, cooldown, min_lr floor', lr: 0.1, options: { mode: 'min', patience: 2, cooldown: 3, factor: 0.5, minLr: 0.02 }, metrics: loss },
    { name: 'max abs threshold, eps stops tiny reductions', lr: 0.01, options: { thresholdMode: 'abs', threshold: 0.01, patience: 1, factor: 0.3, eps: 1e-3 }, metrics: dice },
    { name: 'min abs threshold, patience 0', lr: 1, options: { mode: 'min', thresholdMode: 'abs', threshold: 0.05, patience: 0, cooldown: 1 }, metrics: loss },
  ];
}

/** LR after every step, per case, from torch.optim.lr_scheduler.ReduceLROnPlateau. */
function torchLrs(cs: Case[]): number[][] {
  const script = `
import json, sys, torch
out = []
for c in json.load(sys.stdin):
    o = c['options']
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=c['lr'])
    s = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode=o.get('mode', 'max'), factor=o.get('factor', 0.1),
        patience=o.get('patience', 10), threshold=o.get('threshold', 1e-4), threshold_mode=o.get('thresholdMode', 'rel'),
        cooldown=o.get('cooldown', 0), min_lr=o.get('minLr', 0), eps=o.get('eps', 1e-8))
    lrs = []
    for m in c['metrics']:
        s.step(m)
        lrs.append(opt.param_groups[0]['lr'])
    out.append(lrs)
print(json.dumps(out))
`;
  const r = spawnSync(PY, ['-c', script], { input: JSON.stringify(cs), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`torch oracle failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const run = (c: Case) => {
  const s = new ReduceLROnPlateau(c.lr, c.options);
  return c.metrics.map((m) => s.step(m));
};

describe('ReduceLROnPlateau vs PyTorch 1.13', () => {
  const cs = cases();
  let expected: number[][] = [];
  beforeAll(() => {
    if (pythonHas('torch')) expected = torchLrs(cs);
  });

  itTorch('gives bit-identical learning rates on every case', () => {
    for (let i = 0; i < cs.length; i++) {
      expect({ name: cs[i].name, lrs: run(cs[i]) }).toEqual({ name: cs[i].name, lrs: expected[i] });
    }
    // The cases actually exercise reductions (guards against a vacuous comparison).
    expect(expected.every((lrs) => new Set(lrs).size > 1)).toBe(true);
  });

  itTorch('resumes exactly from state() saved half-way (through JSON)', () => {
    for (let i = 0; i < cs.length; i++) {
      const c = cs[i];
      const half = Math.floor(c.metrics.length / 2);
      const a = new ReduceLROnPlateau(c.lr, c.options);
      const lrs = c.metrics.slice(0, half).map((m) => a.step(m));
      const b = ReduceLROnPlateau.fromState(JSON.parse(JSON.stringify(a.state())));
      lrs.push(...c.metrics.slice(half).map((m) => b.step(m)));
      expect({ name: c.name, lrs }).toEqual({ name: c.name, lrs: expected[i] });
    }
  });
});

describe('ReduceLROnPlateau by hand', () => {
  it('reduces once the bad-epoch count exceeds patience', () => {
    // best=1 at step 1; steps 2..4 are bad (1 is not > 1 * 1.0001); bad=3 > patience 2 at step 4.
    const s = new ReduceLROnPlateau(1, { patience: 2, factor: 0.5 });
    expect([1, 1, 1, 1, 1, 1, 1].map((m) => s.step(m))).toEqual([1, 1, 1, 0.5, 0.5, 0.5, 0.25]);
  });

  it('counts a NaN metric as a bad epoch', () => {
    const s = new ReduceLROnPlateau(1, { patience: 0 });
    s.step(0.5);
    expect(s.step(NaN)).toBeCloseTo(0.1, 15);
    expect(s.bestMetric).toBe(0.5);
  });

  it('defaults to mode max with PyTorch defaults otherwise', () => {
    expect(new ReduceLROnPlateau(1).options).toEqual({ mode: 'max', factor: 0.1, patience: 10, threshold: 1e-4, thresholdMode: 'rel', cooldown: 0, minLr: 0, eps: 1e-8 });
  });

  it('state() before any step survives JSON (best = -Infinity stored as a string)', () => {
    const st = JSON.parse(JSON.stringify(new ReduceLROnPlateau(0.1).state()));
    expect(st.best).toBe('-Infinity');
    const s = ReduceLROnPlateau.fromState(st);
    expect(s.bestMetric).toBe(-Infinity);
    expect(s.step(0.3)).toBe(0.1);
    expect(s.bestMetric).toBe(0.3);
  });

  it('rejects factor >= 1 and a foreign state object', () => {
    expect(() => new ReduceLROnPlateau(1, { factor: 1 })).toThrow(/Factor should be < 1\.0/);
    expect(() => ReduceLROnPlateau.fromState({ kind: 'StepLR' } as never)).toThrow(/expected kind 'ReduceLROnPlateau'/);
  });
});
