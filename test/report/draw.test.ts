import { LOSS_NAMES, MODEL_NAMES } from '../../src/report/names';
import * as fs from 'fs';
import * as path from 'path';
import { REPORT_FILES, THUMB_WIDTH, drawCharts, predictionGrid, readRunSettings } from '../../src/report';
import type { ResultRow } from '../../src/report';
import { fakeResults, lesionItem } from './fixtures';
import { row, tempDirForFile } from './helpers';

const dir = tempDirForFile();

const MODELS = ['UNet', 'SegNet'];
const LOSSES = ['dice_loss', 'BCELoss', 'tversky_loss_alpha_0.30'];

/** The thumbnail links of a report: [href of the link, src of its image]. */
function thumbLinks(html: string): [string, string][] {
  return [...html.matchAll(/<a class="thumb" href="([^"]+)"[^>]*><img src="([^"]+)"/g)].map((m) => [m[1], m[2]]);
}

describe('drawCharts', () => {
  test('writes the three charts, report.html and a thumbnail per grid; the page links the full grids by relative path', async () => {
    const rows = fakeResults({ seed: 5, epochs: 4, models: MODELS, losses: LOSSES });
    const out = path.join(dir, 'small');
    const grids: Record<string, string> = {};
    const runs = [...new Map(rows.map((r) => [r.run, r])).values()].slice(0, 2);
    for (const [k, r] of runs.entries()) {
      grids[`${r.model}|${r.criterion}`] = path.join(out, 'artifacts', r.run, 'predictions_best.png');
      await predictionGrid([lesionItem(96, k, 'ISIC_a'), lesionItem(96, k + 10, 'ISIC_b')], 96, grids[`${r.model}|${r.criterion}`]);
    }
    const files = await drawCharts(rows, out, { grids, title: 'T <&>' });
    expect(files).toEqual({
      curves: path.join(out, 'curves.png'),
      curvesTop: path.join(out, 'curves_top.png'),
      metrics: path.join(out, 'metrics.png'),
      report: path.join(out, 'report.html'),
    });
    const html = fs.readFileSync(files.report, 'utf8');
    expect(html).toContain('<title>T &lt;&amp;&gt;</title>');
    const bodyRows = html.match(/<tbody>([\s\S]*?)<\/tbody>/)![1].match(/<tr/g)!;
    expect(bodyRows).toHaveLength(MODELS.length * LOSSES.length);
    for (const m of MODELS) for (const l of LOSSES) expect(html).toMatch(new RegExp(`<td>${m}</td><td>${l.replace('.', '\\.')}</td><td class="num" data-v="0\\.\\d+">`));
    for (const r of runs) expect(html).toContain(`${r.model} + ${r.criterion}`);

    const links = thumbLinks(html);
    expect(links).toHaveLength(2);
    for (const [href, src] of links) {
      const grid = path.resolve(out, decodeURI(href));
      expect(Object.values(grids)).toContain(grid);
      expect(src.startsWith(`${REPORT_FILES}/`)).toBe(true);
      const thumb = fs.readFileSync(path.join(out, decodeURI(src)));
      expect([...thumb.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]); // JPEG
    }
    // Nothing is embedded or fetched from elsewhere: no data URIs, no remote scripts, styles or images.
    expect(html).not.toMatch(/data:image|<link|<script[^>]+src=|(src|href)="https?:/);
  });

  test("settings from each run's run.json are shown: shared ones once, the others per run", async () => {
    const rows = [row({ run: 'a', criterion: 'dice_loss' }), row({ run: 'b', criterion: 'BCELoss' }), row({ run: 'c', criterion: 'bce_loss' })];
    const art = path.join(dir, 'settings', 'artifacts');
    const write = (run: string, body: string) => {
      fs.mkdirSync(path.join(art, run), { recursive: true });
      fs.writeFileSync(path.join(art, run, 'run.json'), body);
    };
    write('a', JSON.stringify({ settings: { loss: 'dice_loss', epochs: 20, data: '/data/PH2 <2>' } }));
    write('b', JSON.stringify({ settings: { loss: 'BCELoss', epochs: 20, data: '/data/PH2 <2>' } }));
    write('c', '{ not json');
    const settings = Object.fromEntries(['a', 'b', 'c', 'd'].map((r) => [r, readRunSettings(path.join(art, r))]));
    const files = await drawCharts([...rows, row({ run: 'd', criterion: 'focal_loss' })], path.join(dir, 'settings'), { settings });
    const html = fs.readFileSync(files.report, 'utf8');
    expect(html).toMatch(/Settings shared by every run: <span>epochs <b>20<\/b><\/span> <span>data <b>\/data\/PH2 &lt;2&gt;<\/b><\/span><\/p>/);
    expect(html).toContain('<tr><th>loss</th><td>dice_loss</td></tr>');
    expect(html).toContain('<tr><th>loss</th><td>BCELoss</td></tr>');
    expect(html).toMatch(/Settings unavailable: .*c[/\\]run\.json: not valid JSON \(/);
    expect(html).toContain('Settings not recorded (no run.json).');
  });

  test('NaN and blank values become gaps; an all-blank combination is listed with dashes', async () => {
    const rows = [
      row({ epoch: 1, metric: 0.5 }),
      row({ epoch: 2, metric: NaN, valid_loss: NaN }),
      row({ epoch: 3, metric: 0.6 }),
      row({ model: 'SegNet', run: 'r2', epoch: 1, metric: NaN, train_loss: NaN, valid_loss: NaN }),
    ];
    const files = await drawCharts(rows, path.join(dir, 'nan'));
    const html = fs.readFileSync(files.report, 'utf8');
    expect(html).toMatch(/<td>SegNet<\/td><td>dice_loss<\/td><td class="num" data-v="">–<\/td>/);
    expect(html).toContain('data-v="0.6">0.6000</td><td class="num" data-v="3">3</td>');
    // NaN is not JSON: the page's data holds null where the CSV was blank.
    const data = JSON.parse(/<script type="application\/json" id="melseg-data">([^<]*)<\/script>/.exec(html)![1]);
    expect(data.series.find((s: { model: string }) => s.model === 'UNet').iou).toEqual([0.5, null, 0.6]);
  });

  test('empty rows and unreadable grids fail with a clear error before writing anything', async () => {
    const out = path.join(dir, 'never');
    await expect(drawCharts([], out)).rejects.toThrow(/expected at least one results row; found none/);
    await expect(drawCharts([row()], out, { grids: { 'UNet|dice_loss': path.join(dir, 'missing.png') } })).rejects.toThrow(
      /prediction grid .*missing\.png of UNet \+ dice_loss cannot be read \(ENOENT\)/,
    );
    expect(fs.existsSync(out)).toBe(false);
  });

  test('a 60-run sweep with 256 px grids gives a report under 10 MB (page + thumbnails); the grids are linked, not copied', async () => {
    const out = path.join(dir, 'sweep60');
    const rows: ResultRow[] = fakeResults({ seed: 9, epochs: 20, models: MODEL_NAMES.slice(0, 4), losses: LOSS_NAMES.slice(0, 15) }); // the study's 4 models x its 15 losses
    const runs = [...new Map(rows.map((r) => [r.run, r])).values()];
    expect(runs).toHaveLength(60);
    // Six distinct real 256 px grids (six lesion-like images each), copied to the 60 runs: a thumbnail's
    // size depends on its grid's content, and drawing 60 grids would add a minute on a 2-core machine.
    const S = 256;
    const sources = await Promise.all(
      [0, 1, 2, 3, 4, 5].map(async (k) => {
        const f = path.join(dir, `grid256-${k}.png`);
        await predictionGrid([0, 1, 2, 3, 4, 5].map((i) => lesionItem(S, 100 * k + i, `ISIC_${k}${i}`)), S, f);
        return f;
      }),
    );
    const grids: Record<string, string> = {};
    runs.forEach((r, i) => {
      const f = path.join(out, 'artifacts', r.run, 'predictions_best.png');
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.copyFileSync(sources[i % sources.length], f);
      grids[`${r.model}|${r.criterion}`] = f;
    });
    const gridBytes = Object.values(grids).reduce((a, f) => a + fs.statSync(f).size, 0);
    const files = await drawCharts(rows, out, { grids, title: '60 runs' });
    const page = fs.statSync(files.report).size;
    const thumbs = fs.readdirSync(path.join(out, REPORT_FILES)).map((f) => fs.statSync(path.join(out, REPORT_FILES, f)).size);
    expect(thumbs).toHaveLength(60);
    const total = page + thumbs.reduce((a, b) => a + b, 0);
    if (process.env.MELSEG_PRINT_SIZES) {
      console.log(`60 runs, 256 px grids: report.html ${page} B, ${thumbs.length} thumbnails ${total - page} B, total ${total} B; the grids ${gridBytes} B`);
    }
    expect(gridBytes).toBeGreaterThan(30e6); // what embedding the grids would have cost, before base64
    expect(page).toBeLessThan(1e6);
    expect(total).toBeLessThan(10e6);
    expect(thumbLinks(fs.readFileSync(files.report, 'utf8'))).toHaveLength(60);
    expect(THUMB_WIDTH).toBeLessThanOrEqual(4 * S);
  }, 300000); // six 256 px grids and 60 thumbnails: a minute or more when the machine is shared
});
