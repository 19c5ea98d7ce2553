/** Chart.js axis settings shared by the charts. */
import type { Scale } from 'chart.js';

/** Largest / smallest of `values` (-Infinity / Infinity if empty) without spreading them into arguments: maxOf(v) overflows the stack at about 120k values (a 150k-row results CSV). NaN is skipped. */
export function maxOf(values: readonly number[]): number {
  let m = -Infinity;
  for (const x of values) if (x > m) m = x;
  return m;
}

export function minOf(values: readonly number[]): number {
  let m = Infinity;
  for (const x of values) if (x < m) m = x;
  return m;
}

/** Integer epoch ticks only (a linear axis would otherwise label 1.5, or 0.5 around a single epoch). */
export function epochAxis(maxEpoch: number, title: boolean) {
  return {
    type: 'linear' as const,
    min: maxEpoch <= 1 ? 0.5 : 1,
    max: maxEpoch <= 1 ? 1.5 : maxEpoch,
    title: { display: title, text: 'epoch' },
    ticks: { precision: 0, maxTicksLimit: 11 },
    afterBuildTicks: (scale: Scale) => {
      scale.ticks = scale.ticks.filter((t) => Number.isInteger(t.value));
    },
  };
}

/**
 * IoU axis zoomed to the data: [min - below, max + above], clipped to [0, 1] and rounded out to whole
 * ticks, step 0.05 for a span up to 0.4 and 0.1 above (so no tick sits off the grid, e.g. a "0.15" labelled "0.2").
 */
export function zoomedAxis(values: readonly number[], below: number, above: number) {
  const v = values.filter(Number.isFinite);
  let lo = v.length ? Math.max(0, minOf(v) - below) : 0;
  let hi = v.length ? Math.min(1, maxOf(v) + above) : 1;
  const step = hi - lo > 0.4 ? 0.1 : 0.05;
  // 1e-9 guards floor/ceil against 0.7999999 style float error.
  lo = Math.max(0, Math.floor(lo / step + 1e-9) * step);
  hi = Math.min(1, Math.ceil(hi / step - 1e-9) * step);
  if (hi - lo < step) {
    // All values equal (one combination): show one step around them.
    hi = Math.min(1, lo + step);
    lo = hi - step;
  }
  const digits = step === 0.1 ? 1 : 2;
  return {
    min: lo,
    max: hi,
    ticks: { stepSize: step, callback: (t: string | number) => Number(t).toFixed(digits) },
  };
}
