/**
 * npm run bench:web -- [--checkpoint best.ckpt] [--image lesion.jpg] [--size 256] [--rounds 5] [--backends wasm,webgpu]
 * npm run bench:web -- --finetune STEPS [--checkpoint best.ckpt] [--image lesion.jpg] [--size 256] [--backends wasm,wasm-threads,webgpu]
 *
 * The exported page (melseg export --web) in headless Chromium, per backend, each in a fresh browser
 * context (no cache): the first load (navigation to data-status=ready: onnxruntime-web's script and
 * WebAssembly, model.json, model.onnx, the session), the first segmentation (WebGPU compiles its
 * shaders here), then `rounds` more segmentations of the same image through the file button (median
 * and range). A segmentation is what the page times: the network with the checkpoint's TTA,
 * upsampling and post-processing (data-segment-ms). The image is --image (default: a synthetic
 * lesion) resized to --size x --size. WebGPU is Chromium's adapter with --enable-unsafe-webgpu:
 * SwiftShader (software, on the CPU) on a machine without a GPU. WebAssembly runs one thread (a plain
 * static server is not cross-origin isolated). Needs chromium-headless-shell (scripts/setup.sh).
 *
 * --finetune STEPS: what one fine-tuning step costs instead (a page exported with --trainable, the
 * image with a disc as its mask, batch 1), in the page per backend and in Node on the same CPU, in one
 * run: the page's own step times (data-step-ms; the first also creates the session and, on WebGPU,
 * compiles the shaders), then the median of the others; the same train_step.onnx and feeds in
 * onnxruntime-node at 1 and at 2 threads. wasm-threads serves the page cross-origin isolated
 * (COOP/COEP headers), so onnxruntime-web's WebAssembly runs min(4, cores) threads.
 */
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { PNG } from 'pngjs';
import { chromium } from 'playwright-core';
import * as ort from 'onnxruntime-node';
import { decodeImage, decodeMask, resizeBilinear, type Image } from '../src/data';
import { generateSynthetic } from '../src/data/synthetic';
import { exportCheckpoint } from '../src/export';
import { batchOf, FineTuner, type TrainableInfo } from '../src/export/finetune';
import { loadCheckpoint } from '../src/checkpoint/checkpoint';
import { median, parseArgs, table } from './args';

const USAGE = 'usage: npm run bench:web -- [--checkpoint best.ckpt] [--image lesion.jpg] [--size 256] [--rounds 5] [--backends wasm,webgpu] [--finetune STEPS]';
const CHROMIUM = process.env.MELSEG_CHROMIUM ?? '/usr/bin/chromium-headless-shell';

function pngOf(img: Image): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  for (let i = 0; i < img.width * img.height; i++) {
    for (let c = 0; c < 3; c++) png.data[i * 4 + c] = img.data[i * 3 + c];
    png.data[i * 4 + 3] = 255;
  }
  return PNG.sync.write(png);
}

/** headers that make a page cross-origin isolated (SharedArrayBuffer, so WebAssembly threads) */
const ISOLATED = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

async function serve(dir: string, headers: Record<string, string> = {}): Promise<{ url: string; close(): void }> {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.png': 'image/png' };
  const server = http.createServer((req, res) => {
    const file = path.join(dir, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    if (!file.startsWith(dir + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream', ...headers });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, close: () => server.close() };
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2), { checkpoint: 'string', image: 'string', size: 'number', rounds: 'number', backends: 'string', finetune: 'number' }, USAGE);
  if (a.finetune !== undefined) return fineTuneBench(a);
  const size = Number(a.size ?? 256);
  const rounds = Number(a.rounds ?? 5);
  const backends = String(a.backends ?? 'wasm,webgpu').split(',');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-bench-web-'));
  try {
    // bench/dist/bench/web.js: the package (its dist/web page and shipped model) is three folders up
    const root = path.join(__dirname, '..', '..', '..');
    const r = await exportCheckpoint({ checkpoint: a.checkpoint as string | undefined, web: dir, packageRoot: root, pageRoot: path.join(root, 'dist', 'web') });
    const source = a.image ? await decodeImage(String(a.image)) : { data: generateSynthetic(1, size).images.slice(0, size * size * 3), width: size, height: size, channels: 3 };
    fs.writeFileSync(path.join(dir, 'bench.png'), pngOf(resizeBilinear(source, size)));
    const c = r.model.config;
    console.log(`${c.model.name} x ${c.loss.name}, ${c.imageSize} px, width ${c.width}; settings ${JSON.stringify(r.model.settings)}; image ${size} x ${size} (${a.image ?? 'synthetic'}); ${os.cpus()[0].model}, ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}`);
    const server = await serve(dir);
    const browser = await chromium.launch({ executablePath: CHROMIUM, chromiumSandbox: false, args: ['--disable-gpu', '--enable-unsafe-webgpu'] });
    const rows: string[][] = [];
    try {
      for (const backend of backends) {
        const context = await browser.newContext();
        const page = await context.newPage();
        const status = async () => {
          // page-side code as strings: bench/ compiles without the DOM's types
          await page.waitForFunction("['done', 'error'].includes(document.body.dataset.status)", undefined, { timeout: 600_000 });
          const d = (await page.evaluate('({ ...document.body.dataset })')) as Record<string, string>;
          if (d.status !== 'done') throw new Error(`${backend}: the page says ${await page.textContent('#message')}`);
          return d;
        };
        await page.goto(`${server.url}index.html?image=bench.png&backend=${backend}`);
        const first = await status();
        const warm: number[] = [];
        for (let i = 0; i < rounds; i++) {
          await page.evaluate("document.body.dataset.status = 'running'");
          await page.setInputFiles('#file', [] as string[]);
          await page.setInputFiles('#file', path.join(dir, 'bench.png'));
          warm.push(Number((await status()).segmentMs));
        }
        rows.push([backend, String(await page.textContent('#backend')), `${first.loadMs}`, `${first.segmentMs}`, `${median(warm).toFixed(0)}`, `${Math.min(...warm).toFixed(0)}-${Math.max(...warm).toFixed(0)}`]);
        await context.close();
      }
    } finally {
      await browser.close();
      server.close();
    }
    console.log(table([['backend', 'the page says', 'first load ms', 'first image ms', `image ms (median of ${rounds})`, 'range'], ...rows]));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A size x size mask PNG: a centred disc of radius size / 3 (white = lesion). */
function discPng(size: number): Buffer {
  const png = new PNG({ width: size, height: size });
  for (let i = 0; i < size * size; i++) {
    const [y, x] = [Math.floor(i / size) + 0.5 - size / 2, (i % size) + 0.5 - size / 2];
    png.data.fill(x * x + y * y < (size / 3) ** 2 ? 255 : 0, i * 4, i * 4 + 3);
    png.data[i * 4 + 3] = 255;
  }
  return PNG.sync.write(png);
}

async function fineTuneBench(a: Record<string, number | string | boolean | undefined>): Promise<void> {
  const steps = Number(a.finetune);
  if (!Number.isInteger(steps) || steps < 2) throw new Error(`--finetune ${a.finetune}: expected a whole number of steps, at least 2 (the first one includes the set-up)\n${USAGE}`);
  const size = Number(a.size ?? 256);
  const backends = String(a.backends ?? 'wasm,wasm-threads,webgpu').split(',');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-bench-finetune-'));
  try {
    const root = path.join(__dirname, '..', '..', '..');
    const r = await exportCheckpoint({ checkpoint: a.checkpoint as string | undefined, web: dir, packageRoot: root, pageRoot: path.join(root, 'dist', 'web'), trainable: true });
    const source = a.image ? await decodeImage(String(a.image)) : { data: generateSynthetic(1, size).images.slice(0, size * size * 3), width: size, height: size, channels: 3 };
    const [imageFile, maskFile] = [path.join(dir, 'bench.png'), path.join(dir, 'bench_mask.png')];
    fs.writeFileSync(imageFile, pngOf(resizeBilinear(source, size)));
    fs.writeFileSync(maskFile, discPng(size));
    const c = r.model.config;
    console.log(`fine-tuning: ${c.model.name} x ${c.loss.name}, ${c.imageSize} px, width ${c.width}, batch 1, ${steps} steps; image ${size} x ${size} (${a.image ?? 'synthetic'}); ${os.cpus()[0].model}, ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}`);
    const rows: string[][] = [];
    const row = (what: string, ms: number[]) => rows.push([what, ms[0].toFixed(0), median(ms.slice(1)).toFixed(0), `${Math.min(...ms.slice(1)).toFixed(0)}-${Math.max(...ms.slice(1)).toFixed(0)}`]);

    // Node: the same graph file, checkpoint, batch and feeds as the page (src/export/finetune.ts)
    const info = JSON.parse(fs.readFileSync(path.join(dir, 'trainable.json'), 'utf8')) as TrainableInfo;
    const batch = batchOf([{ image: await decodeImage(imageFile), mask: await decodeMask(maskFile) }], info.imageSize);
    for (const threads of [1, 2]) {
      const tuner = new FineTuner(loadCheckpoint(path.join(dir, 'start.ckpt')), info);
      const started = performance.now();
      const session = await ort.InferenceSession.create(path.join(dir, 'train_step.onnx'), { intraOpNumThreads: threads, interOpNumThreads: 1 });
      const ms: number[] = [];
      for (let i = 0; i < steps; i++) {
        const t0 = i ? performance.now() : started;
        tuner.absorb(await session.run(tuner.stepFeeds((d, dims) => new ort.Tensor('float32', d, [...dims]), batch, info.lr)));
        ms.push(performance.now() - t0);
      }
      await session.release();
      row(`Node, onnxruntime-node CPU, ${threads} thread${threads > 1 ? 's' : ''}`, ms);
    }

    const plain = await serve(dir);
    const isolated = await serve(dir, ISOLATED);
    const browser = await chromium.launch({ executablePath: CHROMIUM, chromiumSandbox: false, args: ['--disable-gpu', '--enable-unsafe-webgpu'] });
    try {
      for (const backend of backends) {
        const context = await browser.newContext();
        const page = await context.newPage();
        const server = backend === 'wasm-threads' ? isolated : plain;
        await page.goto(`${server.url}index.html?backend=${backend === 'webgpu' ? 'webgpu' : 'wasm'}`);
        await page.waitForFunction("['ready', 'error'].includes(document.body.dataset.status)", undefined, { timeout: 600_000 });
        await page.setInputFiles('#ft-images', imageFile);
        await page.setInputFiles('#ft-masks', maskFile);
        await page.fill('#ft-steps', String(steps));
        await page.click('#ft-run');
        await page.waitForFunction("['done', 'error'].includes(document.body.dataset.finetune)", undefined, { timeout: 3_600_000 });
        const d = (await page.evaluate('({ ...document.body.dataset })')) as Record<string, string>;
        if (d.finetune !== 'done') throw new Error(`${backend}: the page says ${await page.textContent('#ft-message')}`);
        row(`page: ${await page.textContent('#backend')}`, JSON.parse(d.stepMs) as number[]);
        await context.close();
      }
    } finally {
      await browser.close();
      plain.close();
      isolated.close();
    }
    console.log(table([['where', 'first step ms (with set-up)', `step ms (median of ${steps - 1})`, 'range'], ...rows]));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error((e as Error).message);
  process.exit(1);
});
