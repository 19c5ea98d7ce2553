/**
 * npm run bench:web -- [--checkpoint best.ckpt] [--image lesion.jpg] [--size 256] [--rounds 5] [--backends wasm,webgpu]
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
 */
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { PNG } from 'pngjs';
import { chromium } from 'playwright-core';
import { decodeImage, resizeBilinear, type Image } from '../src/data';
import { generateSynthetic } from '../src/data/synthetic';
import { exportCheckpoint } from '../src/export';
import { median, parseArgs, table } from './args';

const USAGE = 'usage: npm run bench:web -- [--checkpoint best.ckpt] [--image lesion.jpg] [--size 256] [--rounds 5] [--backends wasm,webgpu]';
const CHROMIUM = process.env.MELSEG_CHROMIUM ?? '/usr/bin/chromium-headless-shell';

function pngOf(img: Image): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  for (let i = 0; i < img.width * img.height; i++) {
    for (let c = 0; c < 3; c++) png.data[i * 4 + c] = img.data[i * 3 + c];
    png.data[i * 4 + 3] = 255;
  }
  return PNG.sync.write(png);
}

async function serve(dir: string): Promise<{ url: string; close(): void }> {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.png': 'image/png' };
  const server = http.createServer((req, res) => {
    const file = path.join(dir, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    if (!file.startsWith(dir + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, close: () => server.close() };
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2), { checkpoint: 'string', image: 'string', size: 'number', rounds: 'number', backends: 'string' }, USAGE);
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

main().catch((e) => {
  console.error((e as Error).message);
  process.exit(1);
});
