/**
 * ReduceLROnPlateau, a line-by-line port of PyTorch 1.13's torch.optim.lr_scheduler.ReduceLROnPlateau
 * for one parameter group, so a melseg run and a PyTorch run given the same metric sequence get
 * bit-identical learning rates (all arithmetic is float64 in both).
 *
 * Defaults are PyTorch's except `mode`: melseg steps on validation Dice (higher is better), so the
 * default here is 'max' (PyTorch's is 'min'). factor 0.1, patience 10, threshold 1e-4,
 * threshold_mode 'rel', cooldown 0, min_lr 0, eps 1e-8.
 *
 * On each step(metric):
 *   better = mode/threshold_mode test below (NaN is never better)
 *   if better: best = metric, bad = 0  else: bad += 1
 *   if cooldown_counter > 0: cooldown_counter -= 1, bad = 0       (bad epochs ignored in cooldown)
 *   if bad > patience: new = max(lr * factor, min_lr); if lr - new > eps: lr = new
 *                      cooldown_counter = cooldown, bad = 0
 * is_better(a, best):
 *   max/rel: a > best * (1 + threshold)     min/rel: a < best * (1 - threshold)
 *   max/abs: a > best + threshold           min/abs: a < best - threshold
 * best starts at -inf (max) / +inf (min).
 */

export type PlateauMode = 'min' | 'max';
export type ThresholdMode = 'rel' | 'abs';

export interface PlateauOptions {
  mode?: PlateauMode;
  factor?: number;
  patience?: number;
  threshold?: number;
  thresholdMode?: ThresholdMode;
  cooldown?: number;
  minLr?: number;
  eps?: number;
}

/**
 * JSON-safe snapshot for exact resume. `best` may be +-Infinity (before the first finite metric),
 * which JSON cannot hold, so it is stored as a string in that case.
 */
export interface PlateauState {
  kind: 'ReduceLROnPlateau';
  options: Required<PlateauOptions>;
  lr: number;
  best: number | 'Infinity' | '-Infinity' | 'NaN';
  numBadEpochs: number;
  cooldownCounter: number;
  lastEpoch: number;
}

const DEFAULTS: Required<PlateauOptions> = {
  mode: 'max',
  factor: 0.1,
  patience: 10,
  threshold: 1e-4,
  thresholdMode: 'rel',
  cooldown: 0,
  minLr: 0,
  eps: 1e-8,
};

function encodeNum(x: number): PlateauState['best'] {
  return Number.isFinite(x) ? x : (String(x) as 'Infinity' | '-Infinity' | 'NaN');
}

/** Inverse of encodeNum; undefined when `x` is neither a number nor one of the three strings. */
function decodeNum(x: unknown): number | undefined {
  if (typeof x === 'number') return x;
  if (x === 'Infinity') return Infinity;
  if (x === '-Infinity') return -Infinity;
  if (x === 'NaN') return NaN;
  return undefined;
}

export class ReduceLROnPlateau {
  readonly options: Required<PlateauOptions>;
  private _lr: number;
  private best: number;
  private numBadEpochs = 0;
  private cooldownCounter = 0;
  private lastEpoch = 0;

  constructor(initialLr: number, options: PlateauOptions = {}) {
    const o: Required<PlateauOptions> = { ...DEFAULTS };
    for (const [k, v] of Object.entries(options)) if (v !== undefined) (o as unknown as Record<string, unknown>)[k] = v;
    validate(o, initialLr);
    this.options = o;
    this._lr = initialLr;
    this.best = o.mode === 'min' ? Infinity : -Infinity; // PyTorch's mode_worse
  }

  /** The current learning rate. */
  get lr(): number {
    return this._lr;
  }

  /** Bad epochs counted so far (for logging). */
  get badEpochs(): number {
    return this.numBadEpochs;
  }

  /** Best metric seen so far (+-Infinity before the first comparable one). */
  get bestMetric(): number {
    return this.best;
  }

  /** Feed one epoch's metric; returns the learning rate to use from now on. */
  step(metric: number): number {
    const current = Number(metric); // PyTorch: float(metrics)
    this.lastEpoch += 1;
    if (this.isBetter(current, this.best)) {
      this.best = current;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0; // ignore any bad epochs in cooldown
    }
    if (this.numBadEpochs > this.options.patience) {
      const oldLr = this._lr;
      const newLr = Math.max(oldLr * this.options.factor, this.options.minLr);
      if (oldLr - newLr > this.options.eps) this._lr = newLr;
      this.cooldownCounter = this.options.cooldown;
      this.numBadEpochs = 0;
    }
    return this._lr;
  }

  private isBetter(a: number, best: number): boolean {
    const { mode, thresholdMode, threshold } = this.options;
    if (mode === 'min' && thresholdMode === 'rel') return a < best * (1 - threshold);
    if (mode === 'min') return a < best - threshold;
    if (thresholdMode === 'rel') return a > best * (threshold + 1);
    return a > best + threshold;
  }

  state(): PlateauState {
    return {
      kind: 'ReduceLROnPlateau',
      options: { ...this.options },
      lr: this._lr,
      best: encodeNum(this.best),
      numBadEpochs: this.numBadEpochs,
      cooldownCounter: this.cooldownCounter,
      lastEpoch: this.lastEpoch,
    };
  }

  static fromState(s: PlateauState): ReduceLROnPlateau {
    const bad = (what: string) =>
      new Error(`ReduceLROnPlateau.fromState: ${what}; pass the object returned by state() unchanged (from the checkpoint's trainer state), or start a fresh scheduler`);
    if (!s || typeof s !== 'object' || s.kind !== 'ReduceLROnPlateau') throw bad(`expected kind 'ReduceLROnPlateau', found ${JSON.stringify((s as { kind?: unknown })?.kind)}`);
    const r = new ReduceLROnPlateau(s.lr, s.options);
    const best = decodeNum(s.best);
    if (best === undefined) throw bad(`expected best to be a number or "Infinity"/"-Infinity", found ${JSON.stringify(s.best)}`);
    for (const k of ['numBadEpochs', 'cooldownCounter', 'lastEpoch'] as const)
      if (!Number.isInteger(s[k]) || s[k] < 0) throw bad(`expected ${k} to be a non-negative integer, found ${JSON.stringify(s[k])}`);
    r.best = best;
    r.numBadEpochs = s.numBadEpochs;
    r.cooldownCounter = s.cooldownCounter;
    r.lastEpoch = s.lastEpoch;
    return r;
  }
}

function validate(o: Required<PlateauOptions>, lr: number): void {
  const bad = (what: string) => new Error(`ReduceLROnPlateau: ${what}`);
  if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) throw bad(`expected the initial learning rate to be a finite number >= 0, found ${lr}`);
  if (o.mode !== 'min' && o.mode !== 'max') throw bad(`expected mode 'min' or 'max', found ${JSON.stringify(o.mode)} (use 'max' for Dice/IoU, 'min' for a loss)`);
  if (o.thresholdMode !== 'rel' && o.thresholdMode !== 'abs') throw bad(`expected thresholdMode 'rel' or 'abs', found ${JSON.stringify(o.thresholdMode)}`);
  if (!(o.factor < 1.0) || !(o.factor >= 0)) throw bad(`expected factor in [0, 1) (PyTorch: "Factor should be < 1.0."), found ${o.factor}`);
  if (!Number.isInteger(o.patience) || o.patience < 0) throw bad(`expected patience to be a non-negative integer, found ${o.patience}`);
  if (!Number.isInteger(o.cooldown) || o.cooldown < 0) throw bad(`expected cooldown to be a non-negative integer, found ${o.cooldown}`);
  for (const k of ['threshold', 'minLr', 'eps'] as const)
    if (typeof o[k] !== 'number' || !Number.isFinite(o[k]) || o[k] < 0) throw bad(`expected ${k} to be a finite number >= 0, found ${o[k]}`);
}
