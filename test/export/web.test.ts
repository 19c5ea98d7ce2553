/**
 * The page `melseg export --web` writes, in a real browser (chromium-headless-shell driven by
 * playwright-core, test/helpers/browser.ts), against `melseg predict` on the same checkpoint, image
 * and settings: on WebAssembly (a browser without WebGPU) and on WebGPU (--enable-unsafe-webgpu,
 * SwiftShader's software adapter on a machine without a GPU).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { decodeMask } from '../../src/data';
import { exportCheckpoint } from '../../src/export';
import { ORT_BUILDS, ORT_FILES, type Backend } from '../../src/export/web';
import { predictImages, type Prediction } from '../../src/infer/predict';
import { launchBrowser, serveStatic, type CheckedPage, type TestBrowser } from '../helpers/browser';
import { lesionImage, saveRandom, writePng } from './fixtures';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-export-web-'));
const pageRoot = path.join(root, 'page-build');
const site = path.join(root, 'site');
let plainBrowser: TestBrowser;
let webgpuBrowser: TestBrowser;
let server: { url: string; close(): Promise<void> };
/** The EGE-UNet page's server (below): closed after the browsers, whose open connections it waits for. */
let egeServer: { url: string; close(): Promise<void> } | undefined;

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
  plainBrowser = await launchBrowser();
  webgpuBrowser = await launchBrowser({ webgpu: true });
});
afterAll(async () => {
  await plainBrowser?.close();
  await webgpuBrowser?.close();
  await server?.close();
  await egeServer?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

async function finished(page: CheckedPage, timeout = 60000): Promise<string> {
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.status ?? ''), undefined, { timeout });
  return page.evaluate(() => document.body.dataset.status ?? '');
}

/** The mask the page offers for download, as 0/1. */
async function downloadedMask(page: CheckedPage): Promise<{ data: Uint8Array; width: number; height: number; name: string }> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const file = path.join(root, `dl-${Date.now()}.png`);
  await download.saveAs(file);
  return { ...(await decodeMask(file)), name: download.suggestedFilename() };
}

/** `melseg predict`'s result on the test image, computed once. */
let predicted: Promise<Prediction> | undefined;
function predictOnce(): Promise<Prediction> {
  predicted ??= predictImages({ checkpoint: ckpt, inputs: [image], out: path.join(root, 'predicted'), graphsDir: path.join(root, 'graphs'), cacheDir: null, inference: settings }).then((r) => r.predictions[0]);
  return predicted;
}

/** One browser without WebGPU (no adapter), one with SwiftShader's. */
const browserFor = (b: Backend) => (b === 'webgpu' ? webgpuBrowser : plainBrowser);

/**
 * onnxruntime-web's network against onnxruntime-node's on the same file and input, with the page's
 * `ort` (the backend's build): the largest difference of a probability. WebAssembly SIMD against this
 * CPU's kernels: float rounding (~1e-6). WebGPU: float32 shaders with other convolution algorithms
 * and summation orders (SwiftShader); measured 3.7e-6 here. Callers allow 1e-4: under 1e-3 of the
 * spread of a random network's probabilities, so their masks hinge on no rounding.
 */
async function worstAgainstNode(page: CheckedPage, backend: Backend, modelFile: string): Promise<number> {
  const input = Array.from({ length: 3 * 32 * 32 }, (_, i) => ((i * 7919) % 256) / 255);
  const got: number[] = await page.evaluate(async ([b, x]) => {
    const o = (window as unknown as { ort: typeof import('onnxruntime-web') }).ort;
    const s = await o.InferenceSession.create('model.onnx', { executionProviders: [b as string] });
    const r = await s.run({ image: new o.Tensor('float32', Float32Array.from(x as number[]), [1, 3, 32, 32]) });
    return Array.from(r.probability.data as Float32Array);
  }, [backend, input] as const);
  const node = await ort.InferenceSession.create(modelFile);
  const want = (await node.run({ image: new ort.Tensor('float32', Float32Array.from(input), [1, 3, 32, 32]) })).probability.data as Float32Array;
  expect(got).toHaveLength(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  return worst;
}

// SwiftShader compiles every WebGPU shader on the CPU: a page's first segmentation took 40-100 s on
// this loaded 2-core machine, so the WebGPU page loads once and checks everything there.
const SLOW = 300_000;

describe('the web page of melseg export --web', () => {
  test('the folder holds the page, the model and both onnxruntime-web builds (WebAssembly, WebGPU), nothing from a CDN', () => {
    expect(fs.readdirSync(site).sort()).toEqual(['index.html', 'lesion.png', 'melseg-page.js', 'model.json', 'model.onnx', 'ort']);
    expect(fs.readdirSync(path.join(site, 'ort')).sort()).toEqual([...ORT_FILES].sort());
    expect(ORT_FILES).toEqual(expect.arrayContaining(['ort.wasm.min.js', 'ort.webgpu.min.js', 'ort-wasm-simd-threaded.wasm', 'ort-wasm-simd-threaded.asyncify.wasm']));
    const html = fs.readFileSync(path.join(site, 'index.html'), 'utf8');
    // onnxruntime-web is loaded by the page script once it knows the backend, from ort/ beside it
    expect(html.match(/(src|href)="[^"#]*"/g)).toEqual(['src="melseg-page.js"']);
    expect(fs.readFileSync(path.join(site, 'melseg-page.js'), 'utf8')).not.toMatch(/https?:\/\/(?!localhost)/);
    expect(JSON.parse(fs.readFileSync(path.join(site, 'model.json'), 'utf8'))).toMatchObject({ model: 'UNet', imageSize: 32, settings: { tta: 'flips', largestComponent: true, fillHoles: true, threshold: 0.655 } });
  });

  test.each(['wasm', 'webgpu'] as const)('on %s: ?image=NAME segments the image beside index.html with the mask and lesion fraction melseg predict gives; the page says which backend ran and loaded only its build', async (backend) => {
    const page = await browserFor(backend).newPage();
    const fetched: string[] = [];
    page.on('request', (r) => fetched.push(new URL(r.url()).pathname));
    await page.goto(`${server.url}index.html?image=lesion.png`);
    expect(await finished(page, SLOW)).toBe('done');
    expect(page.errors).toEqual([]);
    expect(await page.evaluate(() => document.body.dataset.backend)).toBe(backend);
    expect(await page.textContent('#backend')).toMatch(backend === 'webgpu' ? /^Runs on WebGPU \(google swiftshader/ : /^Runs on WebAssembly, 1 thread$/);
    expect(await page.textContent('#time')).toMatch(backend === 'webgpu' ? /^\d+ ms \(WebGPU\)$/ : /^\d+ ms \(WebAssembly\)$/);
    expect(fetched.filter((f) => f.startsWith('/ort/')).map((f) => f.slice(5)).sort()).toEqual([...ORT_BUILDS[backend]].sort());
    const fraction = Number(await page.evaluate(() => document.body.dataset.lesionFraction));
    const mask = await downloadedMask(page);

    expect(await worstAgainstNode(page, backend, path.join(site, 'model.onnx'))).toBeLessThanOrEqual(1e-4);

    const p = await predictOnce();
    const wantMask = await decodeMask(p.mask);
    expect([mask.name, mask.width, mask.height]).toEqual(['lesion_mask.png', 150, 110]);
    // a real mask, not an empty or full one, so the comparison says something
    expect(p.lesionFraction).toBeGreaterThan(0.05);
    expect(p.lesionFraction).toBeLessThan(0.95);
    // The same code runs on both sides; only the network's kernels differ (bounded above). A pixel
    // can flip only where its probability is within 1e-4 of the threshold (none here: the masks are
    // equal on this machine, on both backends), and post-processing could grow a flip into a few
    // pixels: allow 0.1% of them.
    let differ = 0;
    for (let i = 0; i < wantMask.data.length; i++) if (wantMask.data[i] !== mask.data[i]) differ++;
    expect(differ).toBeLessThanOrEqual(0.001 * wantMask.data.length);
    expect(Math.abs(fraction - p.lesionFraction)).toBeLessThanOrEqual(0.001);
  }, SLOW + 60_000);

  test('?backend=wasm in a browser with WebGPU runs on WebAssembly', async () => {
    const page = await webgpuBrowser.newPage();
    await page.goto(`${server.url}index.html?backend=wasm`);
    await page.waitForFunction(() => document.body.dataset.status === 'ready', undefined, { timeout: 60000 });
    expect(await page.evaluate(() => document.body.dataset.backend)).toBe('wasm');
    expect(await page.textContent('#backend')).toBe('Runs on WebAssembly, 1 thread');
  });

  test('an image opened with the file button is segmented the same way', async () => {
    const page = await plainBrowser.newPage();
    await page.goto(`${server.url}index.html`);
    await page.waitForFunction(() => document.body.dataset.status === 'ready', undefined, { timeout: 60000 });
    await page.setInputFiles('#file', image);
    expect(await finished(page)).toBe('done');
    const byName = await plainBrowser.newPage();
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
    const page = await plainBrowser.newPage();
    await page.goto(`${server.url}index.html?image=${encodeURIComponent(name)}`);
    expect(await finished(page)).toBe('error');
    expect(await page.textContent('#message')).toMatch(message);
    expect(await page.evaluate(() => document.body.dataset.lesionFraction)).toBeUndefined();
  });
});

describe('?backend= of the exported page', () => {
  test.each([
    ['webgpu in a browser without an adapter', 'webgpu', /^\?backend=webgpu: this browser gives no WebGPU adapter \(navigator\.gpu\); open the page without \?backend to run on WebAssembly, or use a browser with WebGPU enabled$/],
    ['an unknown backend', 'cuda', /^\?backend=cuda: expected webgpu or wasm, e\.g\. \?backend=wasm \(or no \?backend: WebGPU where the browser has it\)$/],
  ])('%s: a clear error on the page and in data-status', async (_n, backend, message) => {
    const page = await plainBrowser.newPage();
    await page.goto(`${server.url}index.html?backend=${backend}`);
    expect(await finished(page)).toBe('error');
    expect(await page.textContent('#message')).toMatch(message);
    expect(await page.evaluate(() => document.body.dataset.backend)).toBeUndefined();
  });
});

// The model that ships is EGE-UNet (network 4): depthwise and grouped convolutions, exact GELU (Erf),
// LayerNorm and GroupNorm composed from Reduce ops, the bilinear resize as MatMuls. The page must run
// it on both backends, not only the study's networks.
describe('the page with EGE-UNet (network 4)', () => {
  const egeSite = path.join(root, 'ege-site');
  beforeAll(async () => {
    const egeCkpt = saveRandom(path.join(root, 'ege', 'best.ckpt'), 4, { width: 1 });
    await exportCheckpoint({ checkpoint: egeCkpt, web: egeSite, pageRoot, inference: { preset: 'raw' } });
    writePng(path.join(egeSite, 'lesion.png'), lesionImage(150, 110));
    egeServer = await serveStatic(egeSite);
  });
  test.each(['wasm', 'webgpu'] as const)('on %s: the page segments an image, and its network gives onnxruntime-node\'s probabilities', async (backend) => {
    const page = await browserFor(backend).newPage();
    await page.goto(`${egeServer!.url}index.html?image=lesion.png&backend=${backend}`);
    expect(await finished(page, SLOW)).toBe('done');
    expect(page.errors).toEqual([]);
    expect(await page.evaluate(() => document.body.dataset.backend)).toBe(backend);
    expect(JSON.parse(fs.readFileSync(path.join(egeSite, 'model.json'), 'utf8'))).toMatchObject({ model: 'EGE-UNet' });
    expect(await worstAgainstNode(page, backend, path.join(egeSite, 'model.onnx'))).toBeLessThanOrEqual(1e-4);
  }, SLOW + 60_000);
});
