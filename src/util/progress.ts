/**
 * Progress reporting for long loops (training epochs, evaluation, preprocessing).
 *
 *   const p = createProgress({ total: images.length, label: 'epoch 3', unit: 'img' });
 *   for (...) { ...; p.tick(batch.length, { loss: 0.4312 }); }
 *   p.stop();
 *
 * On an interactive terminal: a cli-progress bar redrawn in place,
 *   epoch 3 [=========-----------] 1200/2594 img 46% | 35.2 img/s | ETA 40s | loss=0.4312
 * Otherwise (CI, `> log.txt`, piped): no cursor tricks; one plain line at most every
 * `intervalMs` (5 s) plus a final line on stop(), so logs stay readable:
 *   epoch 3 1200/2594 img (46%) | 35.2 img/s | ETA 40s | loss=0.4312
 *   epoch 3 2594/2594 img (100%) | 35.4 img/s | took 1m13s | loss=0.4107
 * `silent: true` prints nothing.
 *
 * rate = count / elapsed seconds (average since start, steadier than an instantaneous rate);
 * ETA = (total - count) / rate.
 *
 * Output goes to process.stderr by default, so stdout stays clean for machine-readable output;
 * TTY-ness is decided on the stream actually written to (override with `tty`).
 */
import { SingleBar } from 'cli-progress';

export type ExtraFields = Record<string, string | number>;

export interface ProgressOptions {
  /** Number of units of work (e.g. images). */
  total: number;
  /** Text before the bar, e.g. 'train' or 'epoch 3/50'. */
  label: string;
  /** Unit name shown after counts and in the rate, e.g. 'img' (default 'it'). */
  unit?: string;
  /** Where to write (default process.stderr). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Print nothing at all. */
  silent?: boolean;
  /** Force bar (true) or plain-line (false) mode instead of detecting `stream.isTTY`. */
  tty?: boolean;
  /** Plain-line mode: minimum milliseconds between lines (default 5000). */
  intervalMs?: number;
  /** Clock in milliseconds (default Date.now); injectable for tests. */
  now?: () => number;
}

export interface Progress {
  /** Add `n` (default 1) completed units; `extra` fields (e.g. {loss}) are merged and shown. */
  tick(n?: number, extra?: ExtraFields): void;
  /** Finish: final redraw / final line. Idempotent. */
  stop(): void;
  /** Units completed so far. */
  readonly count: number;
}

/** Seconds -> "45s", "3m05s", "2h07m". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  return `${h}h${String(m % 60).padStart(2, '0')}m`;
}

/** Numbers in extra fields: integers verbatim, otherwise 4 significant digits. */
function formatExtraValue(v: string | number): string {
  if (typeof v === 'string') return v;
  if (Number.isInteger(v) || !Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a >= 1e-3 && a < 1e6 ? String(Number(v.toPrecision(4))) : v.toExponential(3);
}

function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '?';
  return perSecond >= 100 ? perSecond.toFixed(0) : perSecond >= 10 ? perSecond.toFixed(1) : perSecond.toFixed(2);
}

/** What a mode draws: after each tick, and once on stop(). */
interface View {
  update(): void;
  finish(): void;
}

interface Tally {
  count: number;
  readonly extra: ExtraFields;
}

export function createProgress(opts: ProgressOptions): Progress {
  const { total, label } = opts;
  if (!Number.isFinite(total) || total < 0) throw new Error(`createProgress(${JSON.stringify(label)}): expected total to be a finite number >= 0, found ${total}`);
  const stream = opts.stream ?? process.stderr;
  const tally: Tally = { count: 0, extra: {} };
  const tty = opts.tty ?? stream.isTTY === true;
  const view: View = opts.silent ? { update() {}, finish() {} } : (tty ? barView : lineView)(opts, stream, tally);
  let stopped = false;
  return {
    tick(n = 1, e?: ExtraFields) {
      if (stopped) return;
      tally.count += n;
      if (e) Object.assign(tally.extra, e);
      view.update();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      view.finish();
    },
    get count() {
      return tally.count;
    },
  };
}

/** Elapsed seconds, rate, ETA, percentage and the extra fields' text, at the clock's now. */
function statsOf(opts: ProgressOptions, start: number, { count, extra }: Tally) {
  const elapsed = ((opts.now ?? Date.now)() - start) / 1000;
  const rate = elapsed > 0 ? count / elapsed : NaN;
  const eta = count >= opts.total ? 0 : rate > 0 ? (opts.total - count) / rate : NaN;
  const pct = opts.total > 0 ? Math.floor((100 * count) / opts.total) : 100;
  const extraText = Object.entries(extra)
    .map(([k, v]) => `${k}=${formatExtraValue(v)}`)
    .join(' ');
  return { elapsed, rate, eta, pct, extraText };
}

/** A cli-progress bar redrawn in place (at most `fps` times a second), fed our own rate and ETA text. */
function barView(opts: ProgressOptions, stream: NodeJS.WritableStream, tally: Tally): View {
  const unit = opts.unit ?? 'it';
  const start = (opts.now ?? Date.now)();
  const bar = new SingleBar({
    stream,
    format: `{label} [{bar}] {value}/{total} {unit} {percentage}% | {rateText} {unit}/s | ETA {etaText}{extraText}`,
    barCompleteChar: '=',
    barIncompleteChar: '-',
    barsize: 24,
    hideCursor: false,
    fps: 5,
  });
  const payload = () => {
    const s = statsOf(opts, start, tally);
    return { label: opts.label, unit, rateText: formatRate(s.rate), etaText: formatDuration(s.eta), extraText: s.extraText ? ` | ${s.extraText}` : '' };
  };
  bar.start(opts.total, 0, payload());
  return {
    update: () => bar.update(tally.count, payload()),
    finish: () => {
      bar.update(tally.count, payload());
      bar.stop();
    },
  };
}

/** Plain lines: one at most every `intervalMs` while work remains, and a final one with the total time. */
function lineView(opts: ProgressOptions, stream: NodeJS.WritableStream, tally: Tally): View {
  const unit = opts.unit ?? 'it';
  const now = opts.now ?? Date.now;
  const intervalMs = opts.intervalMs ?? 5000;
  const start = now();
  let lastLine = start;
  const line = (final: boolean) => {
    const s = statsOf(opts, start, tally);
    const timing = final ? `took ${formatDuration(s.elapsed)}` : `ETA ${formatDuration(s.eta)}`;
    const parts = [`${opts.label} ${tally.count}/${opts.total} ${unit} (${s.pct}%)`, `${formatRate(s.rate)} ${unit}/s`, timing];
    if (s.extraText) parts.push(s.extraText);
    stream.write(parts.join(' | ') + '\n');
  };
  return {
    update: () => {
      const t = now();
      // Once complete, leave the line to finish() (which reports the total time instead of an ETA).
      if (t - lastLine >= intervalMs && tally.count < opts.total) {
        lastLine = t;
        line(false);
      }
    },
    finish: () => line(true),
  };
}
