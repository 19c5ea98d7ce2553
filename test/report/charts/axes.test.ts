import { maxOf, minOf, zoomedAxis } from '../../../src/report/charts/axes';
import { bestPerCombination, reportHtml } from '../../../src/report';
import { row } from '../helpers';

/** More values than V8 accepts as spread arguments (Math.max(...v) throws RangeError around 120k). */
const N = 500_000;

describe('maxOf / minOf', () => {
  it('find the extremes of half a million values, skipping NaN', () => {
    const v = Array.from({ length: N }, (_, i) => (i * 7919) % N);
    v[3] = NaN;
    expect(maxOf(v)).toBe(N - 1);
    expect(minOf(v)).toBe(0);
    expect(maxOf([])).toBe(-Infinity);
  });
});

describe('charts of a huge results file', () => {
  it('zoomedAxis takes half a million IoU values', () => {
    const v = Array.from({ length: N }, (_, i) => 0.5 + (i % 100) / 1000);
    const a = zoomedAxis(v, 0, 0);
    expect(a.min).toBeCloseTo(0.5, 9);
    expect(a.max).toBeCloseTo(0.6, 9);
  });

  it('report.html is written for a 150k-row run (the epoch axis ends at the last epoch)', () => {
    const rows = Array.from({ length: 150_000 }, (_, i) => row({ epoch: i + 1, metric: 0.5 + (i % 10) / 100 }));
    const best = bestPerCombination(rows);
    const html = reportHtml({ title: 't', rows, best, top: best, cards: [], pngs: { curves: 'c.png', curvesTop: 't.png', metrics: 'm.png' } });
    expect(html).toContain('"maxEpoch":150000');
  });
});
