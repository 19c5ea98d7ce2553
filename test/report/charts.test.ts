import * as fs from 'fs';
import * as path from 'path';
import * as vm from 'vm';
import { PALETTE, SORT_SCRIPT, drawCharts } from '../../src/report/charts';
import { appendResults, readResults, ResultRow } from '../../src/report/results';
import { fakeResults } from '../../src/report/fake';
import { predictionGrid } from '../../src/report/grid';
import { countColour, inkStats, pngPixels, pngSize, row, tempDir } from './helpers';

let dir: string;
beforeAll(() => {
  dir = tempDir();
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const MODELS = ['UNet', 'SegNet'];
const LOSSES = ['dice_loss', 'BCELoss', 'tversky_loss_alpha_0.30'];

/** Small sweep through a CSV on disk, as the CLI would chart it: 2 models x 3 losses x 4 epochs. */
async function smallCsvRows(): Promise<ResultRow[]> {
  const file = path.join(dir, 'small.csv');
  if (!fs.existsSync(file)) await appendResults(file, fakeResults({ seed: 5, epochs: 4, models: MODELS, losses: LOSSES }));
  return readResults([file]);
}

async function expectChart(file: string, size: { width: number; height: number }): Promise<Uint8ClampedArray> {
  expect(pngSize(file)).toEqual(size);
  const { data } = await pngPixels(file);
  const s = inkStats(data);
  expect(s.opaque).toBe(true); // white background plugin: no transparent pixels
  expect(s.ink).toBeGreaterThan(0.01);
  expect(s.variance).toBeGreaterThan(50);
  return data;
}

describe('drawCharts', () => {
  test('renders the three charts from a small CSV at their documented sizes, not blank', async () => {
    const rows = await smallCsvRows();
    const out = path.join(dir, 'small');
    const files = await drawCharts(rows, out, { title: 'Small sweep' });
    expect(files).toEqual({
      curves: path.join(out, 'curves.png'),
      curvesTop: path.join(out, 'curves_top.png'),
      metrics: path.join(out, 'metrics.png'),
      report: path.join(out, 'report.html'),
    });
    // 3 losses -> 2 x 2 panels of 420 x 290, 10 px gaps, 70 px title + legend: max(2*420 + 3*10, 760) x (70 + 2*290 + 3*10).
    const curves = await expectChart(files.curves, { width: 870, height: 680 });
    await expectChart(files.curvesTop, { width: 1100, height: 560 });
    // 3 groups of 2 bars: max(900, 160 + 3 * (2 * 20 + 26)) = 900.
    const metrics = await expectChart(files.metrics, { width: 900, height: 560 });
    // Both models' colours are drawn in the curves and the bars.
    for (const colour of PALETTE.slice(0, 2)) {
      expect(countColour(curves, colour)).toBeGreaterThan(100);
      expect(countColour(metrics, colour)).toBeGreaterThan(1000);
    }
  });

  test('report.html is self-contained: a row per combination, the charts and grids as data URIs, no external refs', async () => {
    const rows = await smallCsvRows();
    const S = 8;
    const grid = path.join(dir, 'grid.png');
    await predictionGrid([{ image: new Uint8Array(S * S * 3).fill(90), prob: new Float32Array(S * S).fill(0.7), mask: new Uint8Array(S * S).fill(1), id: 'ISIC_x' }], S, grid);
    const files = await drawCharts(rows, path.join(dir, 'with-grid'), { grids: { 'UNet|dice_loss': grid }, title: 'T <&>' });
    const html = fs.readFileSync(files.report, 'utf8');
    expect(html).toContain('<title>T &lt;&amp;&gt;</title>');
    const bodyRows = html.match(/<tbody>([\s\S]*)<\/tbody>/)![1].match(/<tr/g)!;
    expect(bodyRows).toHaveLength(MODELS.length * LOSSES.length);
    for (const m of MODELS) for (const l of LOSSES) expect(html).toMatch(new RegExp(`<td>${m}</td><td>${l.replace('.', '\\.')}</td><td class="num" data-v="0\\.\\d+">`));
    const uris = html.match(/src="data:image\/png;base64,[A-Za-z0-9+/=]+"/g)!;
    expect(uris).toHaveLength(4); // three charts + one grid
    const embeddedGrid = uris.map((u) => Buffer.from(u.slice('src="data:image/png;base64,'.length, -1), 'base64'));
    expect(embeddedGrid.some((b) => b.equals(fs.readFileSync(grid)))).toBe(true);
    expect(html).toContain('UNet + dice_loss');
    expect(html).not.toMatch(/<script[^>]+src=|<link|https?:\/\//);
  });

  test('a single epoch still shows its values as points', async () => {
    const rows = fakeResults({ seed: 2, epochs: 1, models: ['UNet'], losses: ['dice_loss'] });
    const files = await drawCharts(rows, path.join(dir, 'single'));
    const top = await expectChart(files.curvesTop, { width: 1100, height: 560 });
    expect(countColour(top, PALETTE[0])).toBeGreaterThan(20); // the ring of the only (best) epoch
    // 1 loss -> one 420 x 290 panel on a canvas at least 760 wide.
    const curves = await expectChart(files.curves, { width: 760, height: 70 + 290 + 20 });
    expect(countColour(curves, PALETTE[0])).toBeGreaterThan(20); // dots for train, valid and IoU
  });

  test('NaN and blank values become gaps; an all-blank combination is listed with dashes', async () => {
    const rows = [
      row({ epoch: 1, metric: 0.5 }),
      row({ epoch: 2, metric: NaN, valid_loss: NaN }),
      row({ epoch: 3, metric: 0.6 }),
      row({ model: 'SegNet', run: 'r2', epoch: 1, metric: NaN, train_loss: NaN, valid_loss: NaN }),
    ];
    const files = await drawCharts(rows, path.join(dir, 'nan'));
    await expectChart(files.metrics, { width: 900, height: 560 });
    const html = fs.readFileSync(files.report, 'utf8');
    expect(html).toMatch(/<td>SegNet<\/td><td>dice_loss<\/td><td class="num" data-v="">–<\/td>/);
    expect(html).toContain('data-v="0.6">0.6000</td><td class="num" data-v="3">3</td>');
  });

  test('empty rows and unreadable grids fail with a clear error before writing anything', async () => {
    const out = path.join(dir, 'never');
    await expect(drawCharts([], out)).rejects.toThrow(/expected at least one results row; found none/);
    await expect(drawCharts([row()], out, { grids: { 'UNet|dice_loss': path.join(dir, 'missing.png') } })).rejects.toThrow(
      /grid .*missing\.png for "UNet\|dice_loss" cannot be read \(ENOENT\)/,
    );
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('report table sort script', () => {
  /** Just enough DOM for the script: one table, cells with textContent / data-v, click listeners. */
  function fakeTable(values: [string, string][]) {
    const attrs = (init: Record<string, string> = {}) => {
      const a: Record<string, string> = { ...init };
      return {
        getAttribute: (k: string) => (k in a ? a[k] : null),
        setAttribute: (k: string, v: string) => void (a[k] = v),
        removeAttribute: (k: string) => void delete a[k],
        hasAttribute: (k: string) => k in a,
      };
    };
    const heads = ['model', 'best IoU'].map(() => {
      const listeners: (() => void)[] = [];
      return { ...attrs(), addEventListener: (_: string, f: () => void) => listeners.push(f), click: () => listeners.forEach((f) => f()) };
    });
    const rows = values.map(([name, v]) => ({ cells: [{ textContent: name, ...attrs() }, { textContent: v, ...attrs({ 'data-v': v }) }] }));
    const body = {
      rows: [...rows],
      appendChild(tr: (typeof rows)[number]) {
        this.rows.splice(this.rows.indexOf(tr), 1);
        this.rows.push(tr);
      },
    };
    const table = { tHead: { rows: [{ cells: heads }] }, tBodies: [body] };
    const document = { querySelectorAll: () => [table] };
    vm.runInNewContext(SORT_SCRIPT, { document });
    return { heads, order: () => body.rows.map((r) => r.cells[0].textContent) };
  }

  test('clicking a numeric header sorts high-first with blanks last, clicking again reverses', () => {
    const t = fakeTable([
      ['a', '0.5'],
      ['b', ''],
      ['c', '0.9'],
      ['d', '0.7'],
    ]);
    t.heads[1].click();
    expect(t.order()).toEqual(['c', 'd', 'a', 'b']);
    t.heads[1].click();
    expect(t.order()).toEqual(['a', 'd', 'c', 'b']);
    t.heads[0].click();
    expect(t.order()).toEqual(['a', 'b', 'c', 'd']);
  });
});
