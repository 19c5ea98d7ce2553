/**
 * Learning-rate schedules, stepped once per epoch after validation, with JSON state for exact resume.
 *
 *   plateau  ReduceLROnPlateau(mode 'max') on validation IoU, PyTorch's defaults (plateau.ts)
 *   cosine   linear warm-up over W epochs from base/W to base, then cosine decay to 0:
 *            lr(e) = base * e / W                                  for e = 1..W
 *            lr(e) = base * (1 + cos(pi * (e - W - 1) / (E - W))) / 2   for e = W+1..E
 *            (epoch e 1-based, E epochs; the first decayed epoch runs at the full base rate)
 */
import { PlateauState, ReduceLROnPlateau } from './plateau';

export interface CosineState {
  kind: 'cosine';
  base: number;
  epochs: number;
  warmup: number;
  /** Epochs stepped so far. */
  epoch: number;
}

export type ScheduleState = PlateauState | CosineState;

export interface Schedule {
  /** The rate of the next epoch. */
  readonly lr: number;
  /** Record a finished epoch's validation IoU. */
  step(metric: number): void;
  state(): ScheduleState;
}

export function cosineLr(s: Omit<CosineState, 'kind'>, epoch: number): number {
  if (epoch <= s.warmup) return (s.base * epoch) / s.warmup;
  const t = (epoch - s.warmup - 1) / Math.max(1, s.epochs - s.warmup);
  return (s.base * (1 + Math.cos(Math.PI * Math.min(1, t)))) / 2;
}

class Cosine implements Schedule {
  constructor(private s: CosineState) {}
  get lr(): number {
    return cosineLr(this.s, this.s.epoch + 1);
  }
  step(): void {
    this.s = { ...this.s, epoch: this.s.epoch + 1 };
  }
  state(): CosineState {
    return { ...this.s };
  }
}

class Plateau implements Schedule {
  constructor(private readonly p: ReduceLROnPlateau) {}
  get lr(): number {
    return this.p.lr;
  }
  step(metric: number): void {
    this.p.step(metric);
  }
  state(): PlateauState {
    return this.p.state();
  }
}

export function makeSchedule(kind: 'plateau' | 'cosine', base: number, epochs: number, warmup: number): Schedule {
  return kind === 'cosine' ? new Cosine({ kind: 'cosine', base, epochs, warmup, epoch: 0 }) : new Plateau(new ReduceLROnPlateau(base, { mode: 'max' }));
}

/**
 * The schedule saved in a checkpoint, continued. A resumed run given other settings (more epochs, a new
 * base rate) continues with them: the cosine curve is redrawn for the new length from the epoch reached;
 * the plateau scheduler's rate is set to the new base.
 */
export function restoreSchedule(
  saved: ScheduleState,
  now: { kind: 'plateau' | 'cosine'; base: number; epochs: number; warmup: number; baseChanged: boolean },
): Schedule {
  if (saved.kind === 'cosine' && now.kind === 'cosine') return new Cosine({ ...saved, base: now.base, epochs: now.epochs, warmup: now.warmup });
  if (saved.kind === 'ReduceLROnPlateau' && now.kind === 'plateau') {
    return new Plateau(ReduceLROnPlateau.fromState(now.baseChanged ? { ...saved, lr: now.base } : saved));
  }
  // the schedule kind itself changed (allowed explicitly): start the new one at the epoch reached
  const epoch = saved.kind === 'cosine' ? saved.epoch : saved.lastEpoch;
  if (now.kind === 'cosine') return new Cosine({ kind: 'cosine', base: now.base, epochs: now.epochs, warmup: now.warmup, epoch });
  return new Plateau(new ReduceLROnPlateau(now.base, { mode: 'max' }));
}
