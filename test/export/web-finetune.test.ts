/**
 * Fine-tuning in the page `melseg export --web --trainable` writes (headless Chromium, WebAssembly):
 * N steps in the page against N steps of the same train step in Node (onnxruntime-node) from the
 * same checkpoint and batch, the checkpoint the page offers, and segmentation with it.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { decodeImage, decodeMask } from '../../src/data';
import { generateSynthetic } from '../../src/data/synthetic';
import { exportCheckpoint } from '../../src/export';
import { batchOf, FineTuner, type TrainableInfo } from '../../src/export/finetune';
import { TRAINABLE_FILES } from '../../src/export/trainable';
import { predictImages } from '../../src/infer/predict';
import { loadCheckpoint } from '../../src/checkpoint/checkpoint';
import { launchBrowser, serveStatic, type CheckedPage, type TestBrowser } from '../helpers/browser';
import { S, saveRandom, writePng } from './fixtures';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-export-finetune-'));
const pageRoot = path.join(root, 'page-build');
const site = path.join(root, 'site');
const own = path.join(root, 'own');
let browser: TestBrowser;
let gpuBrowser: TestBrowser;
let server: { url: string; close(): Promise<void> };

const ckpt = saveRandom(path.join(root, 'run', 'best.ckpt'), 1);
// a threshold inside the fixture network's probabilities (0.59..0.72), so masks are neither empty nor full
const settings = { preset: 'raw', threshold: 0.655 };
// two synthetic lesions with their masks (0/255), 40 x 40, as a user's own files
const SIDE = 40;
const synth = generateSynthetic(2, SIDE);
const images = [0, 1].map((i) => writePng(path.join(own, `lesion${i}.png`), { data: synth.images.slice(i * SIDE * SIDE * 3, (i + 1) * SIDE * SIDE * 3), width: SIDE, height: SIDE, channels: 3 }));
const masks = [0, 1].map((i) => {
  const m = synth.masks.slice(i * SIDE * SIDE, (i + 1) * SIDE * SIDE);
  const rgb = new Uint8Array(SIDE * SIDE * 3);
  for (let p = 0; p < m.length; p++) rgb.fill(m[p] ? 255 : 0, p * 3, p * 3 + 3);
  return writePng(path.join(own, `lesion${i}_mask.png`), { data: rgb, width: SIDE, height: SIDE, channels: 3 });
});
const STEPS = 3;
// two more lesions at the network's own size (no resampling between the drawn mask and the batch)
const drawSynth = generateSynthetic(5, S);
const drawImages = [0, 1].map((i) => writePng(path.join(own, 'draw', `d${i}.png`), { data: drawSynth.images.slice(i * S * S * 3, (i + 1) * S * S * 3), width: S, height: S, channels: 3 }));

/** Whether (px, py) lies inside the polygon (even-odd crossings to the right, W. R. Franklin's test). */
function inside(px: number, py: number, poly: readonly (readonly [number, number])[]): boolean {
  let c = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [[xi, yi], [xj, yj]] = [poly[i], poly[j]];
    if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) c = !c;
  }
  return c;
}

beforeAll(async () => {
  execFileSync(process.execPath, [path.join(__dirname, '..', '..', 'web', 'build.js'), pageRoot]);
  await exportCheckpoint({ checkpoint: ckpt, web: site, pageRoot, inference: settings, trainable: true });
  fs.copyFileSync(images[0], path.join(site, 'lesion0.png'));
  server = await serveStatic(site);
  browser = await launchBrowser();
  gpuBrowser = await launchBrowser({ webgpu: true });
});
afterAll(async () => {
  await browser?.close();
  await gpuBrowser?.close();
  await server?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

async function waitFor(page: CheckedPage, key: 'status' | 'finetune', states: string[], timeout = 400000): Promise<string> {
  await page.waitForFunction(([k, s]) => (s as string[]).includes(document.body.dataset[k as string] ?? ''), [key, states] as const, { timeout });
  return page.evaluate((k) => document.body.dataset[k] ?? '', key);
}

describe('melseg export --web --trainable', () => {
  test('the folder holds the train step, the inference graph, the starting checkpoint and their description', () => {
    for (const f of TRAINABLE_FILES) expect(fs.existsSync(path.join(site, f))).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(site, 'model.json'), 'utf8')).trainable).toBe(true);
  });

  test('--trainable without --web says what to add', async () => {
    await expect(exportCheckpoint({ checkpoint: ckpt, out: path.join(root, 'm.onnx'), trainable: true })).rejects.toThrow(/^--trainable adds fine-tuning to the web page: give --web DIR too, e\.g\. --web lesion-page\/ --trainable$/);
  });

  // SwiftShader compiles every WebGPU shader on the CPU: minutes on this loaded 2-core machine
  test.each(['wasm', 'webgpu'] as const)(`on %s: ${STEPS} steps in the page give the weights and losses of ${STEPS} steps in Node; the loss falls; the page then segments with the checkpoint it offers, as melseg predict does with it`, async (backend) => {
    const page = await (backend === 'webgpu' ? gpuBrowser : browser).newPage();
    await page.goto(`${server.url}index.html?backend=${backend}`);
    expect(await waitFor(page, 'status', ['ready', 'error'])).toBe('ready');
    expect(await page.isVisible('#finetune')).toBe(true);
    await page.setInputFiles('#ft-images', images);
    await page.setInputFiles('#ft-masks', masks);
    await page.fill('#ft-steps', String(STEPS));
    await page.click('#ft-run');
    // the page's message beside the state, so a failure says why
    expect([await waitFor(page, 'finetune', ['done', 'error']), await page.textContent('#ft-message')]).toEqual(['done', expect.stringMatching(/^Fine-tuned: 3 steps, loss /)]);
    expect(page.errors).toEqual([]);
    const pageLosses = JSON.parse((await page.evaluate(() => document.body.dataset.losses)) ?? '[]') as number[];
    expect(await page.locator('#ft-losses li').count()).toBe(STEPS);
    expect(await page.evaluate(() => (document.getElementById('ft-progress') as HTMLProgressElement).value)).toBe(1);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#ft-download')]);
    const tuned = path.join(root, `tuned-${backend}.ckpt`);
    await download.saveAs(tuned);

    // the same steps in Node: same graph file, checkpoint, batch (decoded by melseg's decoders) and lr
    const info = JSON.parse(fs.readFileSync(path.join(site, 'trainable.json'), 'utf8')) as TrainableInfo;
    const tuner = new FineTuner(loadCheckpoint(ckpt), info);
    const pairs = await Promise.all(images.map(async (f, i) => ({ image: await decodeImage(f), mask: await decodeMask(masks[i]) })));
    const batch = batchOf(pairs, info.imageSize);
    const session = await ort.InferenceSession.create(path.join(site, 'train_step.onnx'));
    const nodeLosses: number[] = [];
    for (let i = 0; i < STEPS; i++) nodeLosses.push(tuner.absorb(await session.run(tuner.stepFeeds((d, dims) => new ort.Tensor('float32', d, [...dims]), batch, info.lr))));

    expect(pageLosses).toHaveLength(STEPS);
    expect(pageLosses[STEPS - 1]).toBeLessThan(pageLosses[0]);
    for (let i = 0; i < STEPS; i++) expect(Math.abs(pageLosses[i] - nodeLosses[i])).toBeLessThanOrEqual(1e-5 * Math.abs(nodeLosses[i]));
    const got = loadCheckpoint(tuned);
    expect(got.optimizer?.step).toBe(STEPS);
    // Weights: the same graph on two runtimes differs by float rounding in the gradients, and AdamW's
    // first steps move each weight by about lr * g / |g|, which keeps a relative gradient error for
    // weights whose gradient is large against rounding, and turns a gradient that is rounding alone
    // into a full step of either sign. So: every tensor's update (new - start) agrees with Node's to
    // 5% in norm (measured at most 1.8e-2, most 2e-3..7e-3), except the biases of
    // convolutions followed by BatchNorm, whose exact gradient is 0 (the batch mean cancels them):
    // there rounding alone decides, and only |update| <= 1.01 lr per step is checked.
    const start = loadCheckpoint(ckpt);
    const beforeBatchNorm = (name: string) => {
      const m = /^(.*)\.(\d+)\.bias$/.exec(name);
      return m !== null && `${m[1]}.${Number(m[2]) + 1}.running_mean` in start.params;
    };
    let worstRel = 0;
    let checked = 0;
    for (const [name, want] of tuner.values) {
      const have = got.params[name].data as Float32Array;
      const w0 = start.params[name].data as Float32Array;
      if (beforeBatchNorm(name)) {
        for (let i = 0; i < have.length; i++) expect(Math.abs(have[i] - w0[i])).toBeLessThanOrEqual(1.01 * info.lr * STEPS);
        continue;
      }
      let diff = 0;
      let norm = 0;
      for (let i = 0; i < want.length; i++) {
        diff += (have[i] - want[i]) ** 2;
        norm += (want[i] - w0[i]) ** 2;
      }
      expect(norm).toBeGreaterThan(0);
      worstRel = Math.max(worstRel, Math.sqrt(diff / norm));
      checked++;
    }
    console.log(`${backend}: page vs Node after ${STEPS} steps: worst |update_page - update_node| / |update_node| over ${checked} tensors = ${worstRel.toExponential(2)}; losses page ${pageLosses.map((l) => l.toFixed(5))}, Node ${nodeLosses.map((l) => l.toFixed(5))}`);
    expect(checked).toBeGreaterThan(40);
    expect(worstRel).toBeLessThanOrEqual(0.05);

    // segmenting now uses the adapted weights: the mask melseg predict gives with the downloaded checkpoint
    await page.setInputFiles('#file', path.join(site, 'lesion0.png'));
    expect(await waitFor(page, 'status', ['done', 'error'])).toBe('done');
    const fraction = Number(await page.evaluate(() => document.body.dataset.lesionFraction));
    const p = (await predictImages({ checkpoint: tuned, inputs: [images[0]], out: path.join(root, `predicted-${backend}`), graphsDir: path.join(root, 'graphs'), cacheDir: null, inference: settings })).predictions[0];
    const before = (await predictImages({ checkpoint: ckpt, inputs: [images[0]], out: path.join(root, `predicted-before-${backend}`), graphsDir: path.join(root, 'graphs'), cacheDir: null, inference: settings })).predictions[0];
    expect(p.lesionFraction).toBeGreaterThan(0.05);
    expect(p.lesionFraction).toBeLessThan(0.95);
    expect(Math.abs(fraction - p.lesionFraction)).toBeLessThanOrEqual(0.002);
    console.log(`lesion fraction: start ${before.lesionFraction}, adapted ${p.lesionFraction} (page ${fraction})`);
  }, 900_000);

  test('masks drawn over the images (outlines clicked on a canvas) are the masks the page trains on: its losses are Node\'s with the same outlines filled', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}index.html?backend=wasm`);
    expect(await waitFor(page, 'status', ['ready', 'error'])).toBe('ready');
    await page.setInputFiles('#ft-images', drawImages);
    // no mask files and nothing drawn yet: the page says what to do
    await page.click('#ft-run');
    expect([await waitFor(page, 'finetune', ['done', 'error']), await page.textContent('#ft-message')]).toEqual(['error', expect.stringMatching(/^no masks: choose a mask file per image, or press "draw the masks"/)]);

    await page.click('#ft-draw');
    await page.waitForFunction((s) => !(document.getElementById('ft-drawer') as HTMLElement).hidden && (document.getElementById('ft-canvas') as HTMLCanvasElement).width === s, S);
    const canvas = page.locator('#ft-canvas');
    // clicks at whole screen pixels (as a mouse gives them); where they fall in image pixels (the
    // canvas is found again each time: a button press may have scrolled the page)
    const click = async (fx: number, fy: number) => {
      await canvas.scrollIntoViewIfNeeded();
      const box = (await canvas.boundingBox())!;
      expect(box.width).toBeGreaterThan(4 * S); // several screen pixels per image pixel
      const [X, Y] = [Math.round(box.x + fx * box.width), Math.round(box.y + fy * box.height)];
      await page.mouse.click(X, Y);
      return [((X - box.x) * S) / box.width, ((Y - box.y) * S) / box.height] as const;
    };
    // image 1: a pentagon, closed by clicking its first point again
    const first: (readonly [number, number])[] = [];
    for (const [fx, fy] of [[0.2, 0.15], [0.7, 0.22], [0.83, 0.6], [0.45, 0.86], [0.12, 0.55]]) first.push(await click(fx, fy));
    await click(0.2, 0.15);
    // image 2: two outlines, a triangle closed by the button and a quadrilateral beside it
    await page.click('#ft-next');
    await page.waitForFunction(() => /2 of 2/.test(document.getElementById('ft-draw-name')?.textContent ?? ''));
    const second: (readonly [number, number])[][] = [[], []];
    for (const [fx, fy] of [[0.1, 0.1], [0.5, 0.2], [0.25, 0.6]]) second[0].push(await click(fx, fy));
    await page.click('#ft-close');
    for (const [fx, fy] of [[0.6, 0.55], [0.92, 0.6], [0.9, 0.93], [0.55, 0.85]]) second[1].push(await click(fx, fy));
    await page.click('#ft-close');

    await page.fill('#ft-steps', '2');
    await page.click('#ft-run');
    expect([await waitFor(page, 'finetune', ['done', 'error']), await page.textContent('#ft-message')]).toEqual(['done', expect.stringMatching(/^Fine-tuned: 2 steps, loss /)]);
    expect(page.errors).toEqual([]);
    const pageLosses = JSON.parse((await page.evaluate(() => document.body.dataset.losses)) ?? '[]') as number[];

    // the outlines filled here: a pixel is lesion when its centre lies inside one
    const fill = (polys: (readonly [number, number])[][]) => {
      const data = new Uint8Array(S * S);
      for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) data[y * S + x] = polys.some((q) => inside(x + 0.5, y + 0.5, q)) ? 1 : 0;
      return { data, width: S, height: S };
    };
    const drawn = [fill([first]), fill(second)];
    for (const m of drawn) expect(m.data.reduce((a, v) => a + v, 0)).toBeGreaterThan(S * S * 0.1);
    const info = JSON.parse(fs.readFileSync(path.join(site, 'trainable.json'), 'utf8')) as TrainableInfo;
    const session = await ort.InferenceSession.create(path.join(site, 'train_step.onnx'));
    const nodeLosses = async (masks: typeof drawn, steps: number) => {
      const tuner = new FineTuner(loadCheckpoint(ckpt), info);
      const batch = batchOf(await Promise.all(drawImages.map(async (f, i) => ({ image: await decodeImage(f), mask: masks[i] }))), info.imageSize);
      const out: number[] = [];
      for (let i = 0; i < steps; i++) out.push(tuner.absorb(await session.run(tuner.stepFeeds((d, dims) => new ort.Tensor('float32', d, [...dims]), batch, info.lr))));
      return out;
    };
    const want = await nodeLosses(drawn, 2);
    for (let i = 0; i < 2; i++) expect(Math.abs(pageLosses[i] - want[i])).toBeLessThanOrEqual(1e-5 * Math.abs(want[i]));
    // the comparison resolves one pixel: the first mask with one pixel of its edge flipped gives another loss
    const edge = drawn[0].data.findIndex((v, i) => v === 1 && drawn[0].data[i - 1] === 0);
    const moved = [{ ...drawn[0], data: Uint8Array.from(drawn[0].data, (v, i) => (i === edge ? 0 : v)) }, drawn[1]];
    const [off] = await nodeLosses(moved, 1);
    expect(Math.abs(off - want[0])).toBeGreaterThan(1e-5 * Math.abs(want[0]));
  }, 300_000);
});
