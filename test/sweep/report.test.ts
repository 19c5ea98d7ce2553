import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chartResults, evaluationsFor } from '../../src/sweep/report';
import { formatResultsCsv, predictionGrid } from '../../src/report';
import { fakeResults, noisyItem } from '../report/fixtures';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-sweep-report-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const figures = (n: number, mean: number) => ({ n, mean, median: mean + 0.05, thresholdedJaccard: mean - 0.1, below03: 0.1, below065: 0.2, countBelow03: 1, countBelow065: 2 });

async function runFolder(dir: string, summary: object | string, gallery = true) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'eval_test.summary.json'), typeof summary === 'string' ? summary : JSON.stringify(summary));
  if (gallery) await predictionGrid([noisyItem(32, 1, 'a'), noisyItem(32, 2, 'b')], 32, path.join(dir, 'eval_test_worst.png'));
}

describe('the report shows each run\'s held-out evaluation', () => {
  it('puts the figures per label, the reweighted ones and the failure gallery on the run card', async () => {
    const rows = fakeResults({ models: ['UNet'], losses: ['dice_loss'], epochs: 3 });
    const results = path.join(root, 'a', 'results.csv');
    fs.mkdirSync(path.dirname(results), { recursive: true });
    fs.writeFileSync(results, formatResultsCsv(rows));
    await runFolder(path.join(root, 'a', 'artifacts', rows[0].run!), {
      split: 'test',
      settings: { tta: 'flips', largestComponent: true, fillHoles: true, threshold: 0.5 },
      gallery: 'eval_test_worst.png',
      summary: { all: figures(10, 0.71), groups: { nevus: figures(7, 0.8), seborrheic_keratosis: figures(3, 0.5) }, reweighted: { mix: 'isic2017-validation', summary: figures(10, 0.66) } },
    });
    const { files } = await chartResults({ results: [results] });
    const html = fs.readFileSync(files.report, 'utf8');
    expect(html).toContain('held-out test images (10), tta flips, threshold 0.5, largest component, holes filled');
    expect(html).toMatch(/<td>seborrheic_keratosis<\/td><td class="num">3<\/td><td class="num">0\.500<\/td>/);
    expect(html).toContain('<td>reweighted to isic2017-validation</td>');
    expect(html).toMatch(/href="artifacts\/run001\/eval_test_worst\.png" title="open the failure gallery"><img src="report_files\/run001_worst\.thumb\.jpg"/);
    expect(fs.existsSync(path.join(root, 'a', 'report_files', 'run001_worst.thumb.jpg'))).toBe(true);
  });

  it('leaves out a summary it cannot read, and a gallery named outside the run folder', async () => {
    const rows = fakeResults({ models: ['UNet', 'SegNet'], losses: ['dice_loss'], epochs: 2 });
    const art = path.join(root, 'b', 'artifacts');
    await runFolder(path.join(art, 'run001'), '{not json', false);
    await runFolder(path.join(art, 'run002'), { summary: { all: figures(4, 0.7) }, gallery: '../run001/eval_test_worst.png' });
    const ev = evaluationsFor(rows, [art]);
    expect(Object.keys(ev)).toEqual(['run002']);
    expect(ev.run002.gallery).toBeUndefined();
    expect(ev.run002.rows.map((r) => r.label)).toEqual(['all']);
  });
});

describe('chart of several results files', () => {
  const epochRows = (run: string, metrics: number[]) =>
    metrics.map((metric, i) => ({ ...fakeResults({ models: ['UNet'], losses: ['dice_loss'], epochs: 1 })[0], run, epoch: i + 1, metric }));
  const pageData = (file: string) => {
    const m = /<script type="application\/json" id="melseg-data">(.*?)<\/script>/s.exec(fs.readFileSync(file, 'utf8'));
    return JSON.parse(m![1]) as { maxEpoch: number; best: { model: string; bestMetric: number }[]; series: { model: string; epoch: number[] }[] };
  };
  const write = (dir: string, name: string, rows: ReturnType<typeof epochRows>) => {
    const f = path.join(root, dir, name);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, formatResultsCsv(rows));
    return f;
  };

  it('reports the best run of a model x loss, not the latest, and ends the epoch axis at the last drawn epoch', async () => {
    const a = write('several', 'seed0.csv', epochRows('UNet_dice_loss_s64_w0.125_seed0', [0.5, 0.8, 0.9]));
    const b = write('several', 'seed1.csv', epochRows('UNet_dice_loss_s64_w0.125_seed1', [0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.62, 0.65]));
    const r = await chartResults({ results: [a, b], runs: true });
    const data = pageData(r.files.report);
    expect(data.best).toEqual([expect.objectContaining({ model: 'UNet', bestMetric: 0.9 })]);
    expect(data.series.map((s) => s.epoch.length)).toEqual([3]);
    expect(data.maxEpoch).toBe(3);
    expect(fs.readFileSync(r.files.report, 'utf8')).toContain('UNet_dice_loss_s64_w0.125_seed0');
  });

  it('charts runs of different image sizes apart, each model marked with its size (run.json, else the run id)', async () => {
    const a = write('sizes', 'synthetic.csv', epochRows('UNet_dice_loss_s64_w0.125_seed0', [0.9, 0.95]));
    const b = write('sizes', 'isic.csv', epochRows('isic-run', [0.6, 0.7]));
    const runDir = path.join(root, 'sizes', 'artifacts', 'isic-run');
    fs.mkdirSync(runDir, { recursive: true });
    fs.writeFileSync(path.join(runDir, 'run.json'), JSON.stringify({ settings: { imageSize: 128, model: 1, loss: 1 } }));
    const r = await chartResults({ results: [a, b] });
    expect(r.combinations).toBe(2);
    expect(pageData(r.files.report).best.map((x) => `${x.model} ${x.bestMetric}`)).toEqual(['UNet @ 128 px 0.7', 'UNet @ 64 px 0.95']);
  });
});
