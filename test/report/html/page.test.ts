/**
 * report.html in a real headless Chromium (test/helpers/browser.ts): it loads without errors, draws
 * every chart, shows values on hover, toggles series, sorts its table, and its thumbnails load and
 * link to the grids.
 */
import * as fs from 'fs';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { drawCharts, predictionGrid, readRunSettings } from '../../../src/report';
import { fakeResults, lesionItem } from '../fixtures';
import { inkStats, tempDir } from '../helpers';
import { CheckedPage, TestBrowser, launchBrowser, serveStatic } from '../../helpers/browser';

const MODELS = ['UNet', 'SegNet'];
const LOSSES = ['dice_loss', 'BCELoss', 'tversky_loss_alpha_0.30'];

let dir: string;
let report: string;
let browser: TestBrowser;
let page: CheckedPage;

beforeAll(async () => {
  dir = tempDir();
  const rows = fakeResults({ seed: 5, epochs: 6, models: MODELS, losses: LOSSES });
  const grids: Record<string, string> = {};
  const settings: Record<string, ReturnType<typeof readRunSettings>> = {};
  const runs = [...new Map(rows.map((r) => [r.run, r])).values()];
  for (const [k, r] of runs.entries()) {
    const runDir = path.join(dir, 'artifacts', r.run);
    await predictionGrid([lesionItem(48, k, 'ISIC_a'), lesionItem(48, k + 50, 'ISIC_b')], 48, path.join(runDir, 'predictions_best.png'));
    grids[`${r.model}|${r.criterion}`] = path.join(runDir, 'predictions_best.png');
    // one run's data path is a long unbroken value, as a deep dataset folder gives
    const data = k === 0 ? `/datasets/${'isic2017_training_images_resized_256_'.repeat(8)}` : 'synthetic:64';
    fs.writeFileSync(path.join(runDir, 'run.json'), JSON.stringify({ settings: { model: r.model, loss: r.criterion, epochs: 6, data } }));
    settings[r.run] = readRunSettings(runDir);
  }
  report = (await drawCharts(rows, dir, { grids, settings, title: 'Browser test' })).report;
  browser = await launchBrowser();
  page = await browser.newPage({ width: 1280, height: 900 });
  await page.goto(pathToFileURL(report).href);
  await page.waitForLoadState('load');
});

afterAll(async () => {
  await browser?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('report.html in a browser', () => {
  test('loads without console errors or exceptions, with Chart.js inlined', async () => {
    expect(page.errors).toEqual([]);
    expect(await page.evaluate(() => typeof (window as unknown as { Chart?: unknown }).Chart)).toBe('function');
  });

  test('draws every chart: a bar chart, the top curves and one panel per loss, none blank', async () => {
    const charts = await page.evaluate(() => {
      const Chart = (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): { config: { type: string } } | undefined } }).Chart;
      return [...document.querySelectorAll('canvas')].map((c) => {
        const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let drawn = 0;
        for (let i = 3; i < px.length; i += 4) if (px[i] > 0) drawn++;
        return { id: c.id || c.getAttribute('data-loss'), type: Chart.getChart(c)?.config.type, drawn: drawn / (c.width * c.height), w: c.width };
      });
    });
    expect(charts.map((c) => c.id)).toEqual(['chart-best', 'chart-top', 'BCELoss', 'dice_loss', 'tversky_loss_alpha_0.30']); // losses in table order
    expect(charts.map((c) => c.type)).toEqual(['bar', 'line', 'line', 'line', 'line']);
    for (const c of charts) {
      expect(c.w).toBeGreaterThan(300);
      expect(c.drawn).toBeGreaterThan(0.01); // axes, labels and data: at least 1 % of the canvas is painted
    }
  });

  test('hovering a bar shows its value', async () => {
    const bar = await page.evaluate(() => {
      const canvas = document.getElementById('chart-best') as HTMLCanvasElement;
      canvas.scrollIntoView();
      type Chart = { getDatasetMeta(i: number): { data: { x: number; y: number }[] }; data: { datasets: { label: string; data: (number | null)[] }[] } };
      const chart = (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): Chart } }).Chart.getChart(canvas);
      const el = chart.getDatasetMeta(0).data[0];
      const r = canvas.getBoundingClientRect();
      // Just below the bar's top: its base (value 0) lies below the chart when the axis is zoomed.
      return { x: r.left + el.x, y: r.top + el.y + 6, label: chart.data.datasets[0].label, value: chart.data.datasets[0].data[0] };
    });
    await page.mouse.move(bar.x, bar.y, { steps: 2 });
    // Chart.js handles pointer events on the next animation frame.
    await page
      .waitForFunction(
        () =>
          (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): { tooltip: { opacity: number } } } }).Chart.getChart(
            document.getElementById('chart-best') as HTMLCanvasElement,
          ).tooltip.opacity > 0,
        undefined,
        { timeout: 5000 },
      )
      .catch(() => undefined); // the expectations below say what was missing
    const tooltip = await page.evaluate(() => {
      type Tip = { opacity: number; body?: { lines: string[] }[] };
      const chart = (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): { tooltip: Tip } } }).Chart.getChart(document.getElementById('chart-best') as HTMLCanvasElement);
      return { opacity: chart.tooltip.opacity, lines: (chart.tooltip.body ?? []).flatMap((b) => b.lines) };
    });
    expect(tooltip.opacity).toBeGreaterThan(0);
    expect(tooltip.lines.join(' ')).toContain(`${bar.label}: IoU ${bar.value!.toFixed(4)}`);
  });

  test('the model and quantity checkboxes hide and show series in every panel', async () => {
    const visible = () =>
      page.evaluate(() =>
        [...document.querySelectorAll('canvas.facet')].map((c) => {
          type Chart = { data: { datasets: { model: string; quantity: string }[] }; isDatasetVisible(i: number): boolean };
          const chart = (window as unknown as { Chart: { getChart(c: Element): Chart } }).Chart.getChart(c);
          return chart.data.datasets.filter((_, i) => chart.isDatasetVisible(i)).map((d) => `${d.model}/${d.quantity}`);
        }),
      );
    expect((await visible()).every((v) => v.length === MODELS.length * 3)).toBe(true);
    await page.locator('input[data-toggle="model"][value="UNet"]').uncheck();
    await page.locator('input[data-toggle="quantity"][value="valid"]').uncheck();
    for (const v of await visible()) expect(v).toEqual(['SegNet/train', 'SegNet/iou']);
    await page.locator('input[data-toggle="model"][value="UNet"]').check();
    for (const v of await visible()) expect(v.sort()).toEqual(['SegNet/iou', 'SegNet/train', 'UNet/iou', 'UNet/train']);
    await page.locator('input[data-toggle="quantity"][value="valid"]').check();
  });

  test('clicking a header sorts the table: best epoch high-first, then the loss column A-Z', async () => {
    const column = (i: number) => page.$$eval('#best-table tbody tr', (trs, col) => trs.map((tr) => (tr as HTMLTableRowElement).cells[col as number].textContent ?? ''), i);
    const ious = (await column(2)).map(Number);
    expect(ious).toEqual([...ious].sort((a, b) => b - a)); // initial order: best IoU, high first
    await page.click('#best-table th:nth-child(4)');
    const epochs = (await column(3)).map(Number);
    expect(epochs).toEqual([...epochs].sort((a, b) => b - a));
    await page.click('#best-table th:nth-child(2)');
    const losses = await column(1);
    expect(losses).toEqual([...losses].sort((a, b) => a.localeCompare(b)));
    expect(page.errors).toEqual([]);
  });

  test('thumbnails load, and each links to its full grid (checked over HTTP too)', async () => {
    await page.evaluate(() => document.getElementById('runs')!.scrollIntoView());
    await page.waitForFunction(() => [...document.images].every((i) => i.complete));
    const images = await page.$$eval('a.thumb img', (imgs) => imgs.map((i) => ({ w: (i as HTMLImageElement).naturalWidth, src: i.getAttribute('src') })));
    expect(images).toHaveLength(MODELS.length * LOSSES.length);
    for (const i of images) expect(i.w).toBeGreaterThan(0);

    const server = await serveStatic(dir);
    const served = await browser.newPage();
    try {
      await served.goto(server.url + path.basename(report));
      const statuses = await served.$$eval('a.thumb', async (links) =>
        Promise.all(links.flatMap((a) => [(a as HTMLAnchorElement).href, (a.querySelector('img') as HTMLImageElement).src]).map(async (u) => (await fetch(u)).status)),
      );
      expect(statuses).toHaveLength(2 * images.length);
      expect(new Set(statuses)).toEqual(new Set([200]));
      expect(served.errors).toEqual([]);
    } finally {
      await server.close();
    }
  });

  test('a long unbroken settings value wraps inside its card: the page is no wider than the window', async () => {
    expect(await page.evaluate(() => document.body.innerText.includes('isic2017_training_images_resized_256_'))).toBe(true);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280);
  });

  test('a screenshot of the page is not blank', async () => {
    await page.evaluate(() => window.scrollTo(0, 0));
    const file = path.join(dir, 'screenshot.png');
    await page.screenshot({ path: file, fullPage: true });
    const { loadImage, createCanvas } = await import('canvas');
    const img = await loadImage(file);
    const c = createCanvas(img.width, img.height);
    c.getContext('2d').drawImage(img, 0, 0);
    const s = inkStats(c.getContext('2d').getImageData(0, 0, img.width, img.height).data);
    expect(img.height).toBeGreaterThan(2000); // charts, panels, table and run cards stacked
    expect(s.ink).toBeGreaterThan(0.03);
  });
});
