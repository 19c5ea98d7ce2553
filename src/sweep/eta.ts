/**
 * The sweep's progress line:
 *
 *   sweep 5/16 UNet x dice_loss | epoch 2/20 | elapsed 12m04s | ETA 1h31m (214 epochs left)
 *
 * ETA = sum over the epochs still to train of the mean seconds of one epoch of THAT model (models differ
 * several-fold in cost; a model not timed yet uses the mean over all timed epochs), plus the mean set-up
 * time of a run (data, graphs, sessions: a run's wall time minus its epochs) for each run not started yet.
 * Epoch times come from epochs finished in this invocation and from the histories of runs found in
 * checkpoints, so a resumed sweep has an estimate from its first line.
 */
import { formatDuration } from '../util/progress';

export interface PlannedRun {
  key: string;
  model: string;
  /** Epochs this run still has to train. */
  remaining: number;
}

export class SweepClock {
  private readonly epochSeconds = new Map<string, { sum: number; n: number }>();
  private overhead = { sum: 0, n: 0 };
  private readonly plan = new Map<string, PlannedRun>();
  private readonly started = new Set<string>();
  readonly t0: number;

  constructor(
    runs: readonly PlannedRun[],
    private readonly now: () => number = Date.now,
  ) {
    for (const r of runs) this.plan.set(r.key, { ...r });
    this.t0 = now();
  }

  /** An epoch's seconds, as prior knowledge (from a checkpoint's history) or a fresh measurement. */
  observeEpoch(model: string, seconds: number): void {
    if (!(seconds >= 0) || !Number.isFinite(seconds)) return;
    const e = this.epochSeconds.get(model) ?? { sum: 0, n: 0 };
    e.sum += seconds;
    e.n += 1;
    this.epochSeconds.set(model, e);
  }

  /** One epoch of `key` finished in this invocation, taking `seconds`. */
  epochDone(key: string, seconds: number): void {
    const r = this.plan.get(key);
    if (!r) return;
    this.observeEpoch(r.model, seconds);
    r.remaining = Math.max(0, r.remaining - 1);
  }

  runStarted(key: string): void {
    this.started.add(key);
  }

  /** A run ended: its set-up overhead is its wall time minus the seconds of its epochs. */
  runEnded(key: string, wallSeconds: number, epochSeconds: number): void {
    const r = this.plan.get(key);
    if (r) r.remaining = 0;
    const o = wallSeconds - epochSeconds;
    if (o >= 0 && Number.isFinite(o)) {
      this.overhead.sum += o;
      this.overhead.n += 1;
    }
  }

  /** Skipped (finished earlier) or failed: nothing left to do for it. */
  runDropped(key: string): void {
    const r = this.plan.get(key);
    if (r) r.remaining = 0;
    this.started.add(key);
  }

  epochsLeft(): number {
    let n = 0;
    for (const r of this.plan.values()) n += r.remaining;
    return n;
  }

  /** Seconds still to go; NaN while no epoch has been timed. */
  etaSeconds(): number {
    let all = { sum: 0, n: 0 };
    for (const e of this.epochSeconds.values()) all = { sum: all.sum + e.sum, n: all.n + e.n };
    if (all.n === 0) return this.epochsLeft() === 0 ? 0 : NaN;
    const overhead = this.overhead.n ? this.overhead.sum / this.overhead.n : 0;
    let s = 0;
    for (const r of this.plan.values()) {
      if (r.remaining === 0) continue;
      const e = this.epochSeconds.get(r.model);
      s += r.remaining * (e ? e.sum / e.n : all.sum / all.n);
      if (!this.started.has(r.key)) s += overhead;
    }
    return s;
  }

  elapsedSeconds(): number {
    return (this.now() - this.t0) / 1000;
  }

  /** `sweep k/n <what> | <detail> | elapsed .. | ETA .. (N epochs left)` */
  line(k: number, n: number, what: string, detail?: string): string {
    const left = this.epochsLeft();
    const eta = this.etaSeconds();
    const parts = [`sweep ${k}/${n} ${what}`];
    if (detail) parts.push(detail);
    parts.push(`elapsed ${formatDuration(this.elapsedSeconds())}`);
    parts.push(left === 0 ? 'done' : `ETA ${Number.isNaN(eta) ? '?' : formatDuration(eta)} (${left} epoch${left === 1 ? '' : 's'} left)`);
    return parts.join(' | ');
  }
}
