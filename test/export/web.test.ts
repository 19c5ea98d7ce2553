/**
 * The page `melseg export --web` writes, in a real browser (chromium-headless-shell driven by
 * playwright-core, test/helpers/browser.ts), against `melseg predict` on the same checkpoint, image
 * and settings.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { decodeMask } from '../../src/data';
import { exportCheckpoint } from '../../src/export';
import { ORT_FILES } from '../../src/export/web';
import { predictImages } from '../../src/infer/predict';
import { launchBrowser, serveStatic, type CheckedPage, type TestBrowser } from '../helpers/browser';
import { lesionImage, saveRandom, writePng } from './fixtures';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-export-web-'));
const pageRoot = path.join(root, 'page-build');
const site = path.join(root, 'site');
let browser: TestBrowser;
let server: { url: string; close(): Promise<void> };

// A network whose every layer matters (see fixtures), on a non-square image. Its probabilities on
// this image spread over 0.59..0.72; the threshold at their median (0.655) makes the mask about half
// the image, and the spread is 1e5 times the float differences between two runtimes (~1e-6).
const ckpt = saveRandom(path.join(root, 'run', 'best.ckpt'), 1);
const settings = { preset: 'best', threshold: 0.655 };
const image = writePng(path.join(site, 'lesion.png'), lesionImage(150, 110));

beforeAll(async () => {
  execFileSync(process.execPath, [path.join(__dirname, '..', '..', 'web', 'build.js'), pageRoot]);
  await exportCheckpoint({ checkpoint: ckpt, web: site, pageRoot, inference: settings });
  server = await serveStatic(site);
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

async function finished(page: CheckedPage): Promise<string> {
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.status ?? ''), undefined, { timeout: 60000 });
  return page.evaluate(() => document.body.dataset.status ?? '');
}

/** The mask the page offers for download, as 0/1. */
async function downloadedMask(page: CheckedPage): Promise<{ data: Uint8Array; width: number; height: number; name: string }> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const file = path.join(root, `dl-${Date.now()}.png`);
  await download.saveAs(file);
  return { ...(await decodeMask(file)), name: download.suggestedFilename() };
}

describe('the web page of melseg export --web', () => {
  test('the folder holds the page, the model and onnxruntime-web\'s WebAssembly files, nothing from a CDN', () => {
    expect(fs.readdirSync(site).sort()).toEqual(['index.html', 'lesion.png', 'melseg-page.js', 'model.json', 'model.onnx', 'ort']);
    expect(fs.readdirSync(path.join(site, 'ort')).sort()).toEqual([...ORT_FILES].sort());
    const html = fs.readFileSync(path.join(site, 'index.html'), 'utf8');
    expect(html.match(/(src|href)="[^"#]*"/g)).toEqual(['src="ort/ort.wasm.min.js"', 'src="melseg-page.js"']);
    expect(JSON.parse(fs.readFileSync(path.join(site, 'model.json'), 'utf8'))).toMatchObject({ model: 'UNet', imageSize: 32, settings: { tta: 'flips', largestComponent: true, fillHoles: true, threshold: 0.655 } });
  });

  test('?image=NAME segments the image beside index.html: the mask and lesion fraction melseg predict gives', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}index.html?image=lesion.png`);
    expect(await finished(page)).toBe('done');
    expect(page.errors).toEqual([]);
    const fraction = Number(await page.evaluate(() => document.body.dataset.lesionFraction));
    const mask = await downloadedMask(page);

    const out = path.join(root, 'predicted');
    const p = (await predictImages({ checkpoint: ckpt, inputs: [image], out, graphsDir: path.join(root, 'graphs'), cacheDir: null, inference: settings })).predictions[0];
    const want = await decodeMask(p.mask);
    expect([mask.name, mask.width, mask.height]).toEqual(['lesion_mask.png', 150, 110]);
    // a real mask, not an empty or full one, so the comparison says something
    expect(p.lesionFraction).toBeGreaterThan(0.05);
    expect(p.lesionFraction).toBeLessThan(0.95);
    // The same code runs on both sides; only the network's kernels differ (WebAssembly SIMD against
    // this CPU's AVX2/AVX-512), which moves probabilities by float rounding (~1e-6). A pixel can flip
    // only where its probability is that close to the threshold (none here: the masks are equal on
    // this machine), and post-processing could grow a flip into a few pixels: allow 0.1% of them.
    let differ = 0;
    for (let i = 0; i < want.data.length; i++) if (want.data[i] !== mask.data[i]) differ++;
    expect(differ).toBeLessThanOrEqual(0.001 * want.data.length);
    expect(Math.abs(fraction - p.lesionFraction)).toBeLessThanOrEqual(0.001);
  });

  test('an image opened with the file button is segmented the same way', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}index.html`);
    await page.waitForFunction(() => document.body.dataset.status === 'ready', undefined, { timeout: 60000 });
    await page.setInputFiles('#file', image);
    expect(await finished(page)).toBe('done');
    const byName = await browser.newPage();
    await byName.goto(`${server.url}index.html?image=lesion.png`);
    await finished(byName);
    expect(await page.evaluate(() => document.body.dataset.lesionFraction)).toBe(await byName.evaluate(() => document.body.dataset.lesionFraction));
    expect(await page.textContent('#fraction')).toMatch(/^\d+\.\d %$/);
  });

  test.each([
    ['a missing image', 'missing.png', /^could not load \?image=missing\.png \(missing\.png\): the server answered 404 Not Found; put the image in the folder of index\.html$/],
    ['a path instead of a name', '../model.json', /^\?image=\.\.\/model\.json: expected the name of an image file in this page's folder, e.g\. \?image=lesion\.jpg$/],
    ['a file that is not an image', 'model.json', /^model\.json: this browser cannot decode it as an image; open a JPEG, PNG, BMP, GIF or WebP file$/],
  ])('says what went wrong, on the page and in data-status: %s', async (_n, name, message) => {
    const page = await browser.newPage();
    await page.goto(`${server.url}index.html?image=${encodeURIComponent(name)}`);
    expect(await finished(page)).toBe('error');
    expect(await page.textContent('#message')).toMatch(message);
    expect(await page.evaluate(() => document.body.dataset.lesionFraction)).toBeUndefined();
  });
});
