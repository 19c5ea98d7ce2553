/**
 * The page `melseg export --web` writes: open or drop an image (or name one with ?image=NAME), see
 * the mask as an overlay, the lesion's area fraction, and download the mask. The segmentation is
 * src/export/segment.ts and the overlay src/report's, the code `melseg predict` runs; only the
 * network runs on onnxruntime-web instead of onnxruntime-node: on WebGPU where the browser gives an
 * adapter, on WebAssembly otherwise (?backend=wasm|webgpu forces one).
 *
 * For scripts, <body data-status> is loading, ready, running, done or error; data-backend is webgpu
 * or wasm once the model is loaded, data-load-ms the time from navigation to ready; when done,
 * data-lesion-fraction holds mask pixels / all pixels at the original size and data-segment-ms the
 * time of the last segmentation (network with TTA, upsampling, post-processing).
 */
import type { Image } from '../src/data/image';
import { segmentImage } from '../src/export/segment';
import { ORT_BUILDS, type Backend, type PageModelInfo } from '../src/export/page-info';
import { describeSettings } from '../src/infer/settings';
import type { Network } from '../src/infer/tta';
import { overlayImage } from '../src/report/grid/overlay';
import { fineTunePanel } from './finetune';

// the global of the onnxruntime-web build loadRuntime() adds to the page
declare const ort: typeof import('onnxruntime-web');

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function setStatus(status: 'loading' | 'ready' | 'running' | 'done' | 'error', message = ''): void {
  document.body.dataset.status = status;
  $('message').textContent = message;
}

async function fetchOk(url: string, what: string): Promise<Response> {
  let r: Response;
  try {
    r = await fetch(url);
  } catch (e) {
    throw new Error(`could not load ${what} (${url}): ${(e as Error).message}`);
  }
  if (!r.ok) throw new Error(`could not load ${what} (${url}): the server answered ${r.status} ${r.statusText}`);
  return r;
}

/**
 * The file's pixels as stored, like melseg's decoders: no colour-profile conversion, no EXIF
 * rotation, alpha dropped (sharp in src/data/decode.ts ignores ICC profiles and orientation too).
 */
async function decode(blob: Blob, name: string): Promise<Image> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none', imageOrientation: 'none' } as ImageBitmapOptions);
  } catch {
    throw new Error(`${name}: this browser cannot decode it as an image; open a JPEG, PNG, BMP, GIF or WebP file`);
  }
  const { width, height } = bitmap;
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    data[i * 3] = rgba[i * 4];
    data[i * 3 + 1] = rgba[i * 4 + 1];
    data[i * 3 + 2] = rgba[i * 4 + 2];
  }
  return { data, width, height, channels: 3 };
}

function toImageData(rgb: Uint8Array, w: number, h: number): ImageData {
  const out = new ImageData(w, h);
  for (let i = 0; i < w * h; i++) {
    out.data[i * 4] = rgb[i * 3];
    out.data[i * 4 + 1] = rgb[i * 3 + 1];
    out.data[i * 4 + 2] = rgb[i * 3 + 2];
    out.data[i * 4 + 3] = 255;
  }
  return out;
}

/** The mask as predict writes it: 0/255, the original size (a canvas PNG is RGBA, grey R = G = B). */
function maskPng(mask: Uint8Array, w: number, h: number): Promise<Blob> {
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  const grey = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) grey.fill(mask[i] ? 255 : 0, i * 3, i * 3 + 3);
  canvas.getContext('2d')!.putImageData(toImageData(grey, w, h), 0, 0);
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the browser could not encode the mask as PNG'))), 'image/png'));
}

/** A WebGPU adapter's name ('google swiftshader'), or null when the browser gives none. */
async function webgpuAdapter(): Promise<string | null> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string; description?: string } } | null> } }).gpu;
  if (!gpu) return null;
  const adapter = await gpu.requestAdapter().catch(() => null);
  if (!adapter) return null;
  const i = adapter.info ?? {};
  return [i.vendor, i.architecture, i.description].filter((x) => x).join(' ') || 'unnamed adapter';
}

function loadScript(src: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = () => resolve();
    s.onerror = () => reject(new Error(`could not load onnxruntime-web (${src}); export the page again: melseg export --web DIR`));
    document.head.appendChild(s);
  });
}

/** The backend to try first: ?backend= if given, else WebGPU when there is an adapter. */
async function chooseBackend(): Promise<{ backend: Backend; adapter: string | null }> {
  const asked = new URLSearchParams(location.search).get('backend');
  if (asked !== null && !(asked in ORT_BUILDS)) throw new Error(`?backend=${asked}: expected webgpu or wasm, e.g. ?backend=wasm (or no ?backend: WebGPU where the browser has it)`);
  const adapter = asked === 'wasm' ? null : await webgpuAdapter();
  if (asked === 'webgpu' && !adapter) throw new Error('?backend=webgpu: this browser gives no WebGPU adapter (navigator.gpu); open the page without ?backend to run on WebAssembly, or use a browser with WebGPU enabled');
  return { backend: adapter ? 'webgpu' : 'wasm', adapter };
}

async function main(): Promise<void> {
  if (location.protocol === 'file:') {
    throw new Error('this page must be served over HTTP: browsers do not let a page opened from a file load its model. In its folder run python3 -m http.server 8000 and open http://localhost:8000/');
  }
  const info = (await (await fetchOk('model.json', 'the model description')).json()) as PageModelInfo;
  $('model').textContent = `${info.model} x ${info.loss}, ${info.imageSize} px, width ${info.width}${info.validIou !== undefined ? `, valid IoU ${info.validIou.toFixed(3)}` : ''}; ${describeSettings({ ...info.settings, origin: info.origin })}`;
  const chosen = await chooseBackend();
  await loadScript(`ort/${ORT_BUILDS[chosen.backend][0]}`);
  ort.env.wasm.wasmPaths = new URL('ort/', document.baseURI).href;
  // threads need a cross-origin isolated page (COOP/COEP headers); a plain static server gives one thread
  const threads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  ort.env.wasm.numThreads = threads;
  let backend = chosen.backend;
  let note = '';
  let session: import('onnxruntime-web').InferenceSession;
  try {
    // on WebGPU, onnxruntime-web runs any op the provider lacks on its CPU kernels; its warning that
    // it did (severity 2) would reach the console as an error, so only errors (3) are logged
    session = await ort.InferenceSession.create('model.onnx', { executionProviders: [backend], graphOptimizationLevel: 'all', logSeverityLevel: 3 });
  } catch (e) {
    if (backend !== 'webgpu' || new URLSearchParams(location.search).get('backend') === 'webgpu') throw e;
    // the WebGPU build carries the WebAssembly kernels too
    note = ` (WebGPU failed: ${(e as Error).message})`;
    backend = 'wasm';
    session = await ort.InferenceSession.create('model.onnx', { executionProviders: ['wasm'], graphOptimizationLevel: 'all', logSeverityLevel: 3 });
  }
  document.body.dataset.backend = backend;
  $('backend').textContent = backend === 'webgpu' ? `Runs on WebGPU (${chosen.adapter})` : `Runs on WebAssembly, ${threads} thread${threads > 1 ? 's' : ''}${note}`;
  const S = info.imageSize;
  let net: Network = async (images, count) => {
    const out = await session.run({ image: new ort.Tensor('float32', images, [count, 3, S, S]) });
    return out.probability.data as Float32Array;
  };

  let downloadUrl = '';
  let views: { mask: ImageData; plain: ImageData } | null = null;
  const show = () => {
    if (views) $<HTMLCanvasElement>('view').getContext('2d')!.putImageData($<HTMLInputElement>('show-mask').checked ? views.mask : views.plain, 0, 0);
  };
  $('show-mask').addEventListener('change', show);

  const segment = async (blob: Blob, name: string) => {
    setStatus('running', `Segmenting ${name}…`);
    try {
      const img = await decode(blob, name);
      const t0 = performance.now();
      const seg = await segmentImage(net, img, S, info.settings);
      const ms = performance.now() - t0;
      const { width: w, height: h } = img;
      views = { plain: toImageData(img.data, w, h), mask: toImageData(overlayImage(img.data, Float32Array.from(seg.mask), w, { height: h, threshold: 0.5 }), w, h) };
      const canvas = $<HTMLCanvasElement>('view');
      canvas.width = w;
      canvas.height = h;
      show();
      if (downloadUrl) URL.revokeObjectURL(downloadUrl);
      downloadUrl = URL.createObjectURL(await maskPng(seg.mask, w, h));
      const a = $<HTMLAnchorElement>('download');
      a.href = downloadUrl;
      a.download = `${name.replace(/\.[^.]*$/, '')}_mask.png`;
      $('name').textContent = name;
      $('fraction').textContent = `${(100 * seg.lesionFraction).toFixed(1)} %`;
      $('size').textContent = `${w} x ${h} px`;
      $('time').textContent = `${ms.toFixed(0)} ms (${backend === 'webgpu' ? 'WebGPU' : 'WebAssembly'})`;
      document.body.dataset.segmentMs = ms.toFixed(1);
      $('result').hidden = false;
      document.body.dataset.lesionFraction = String(seg.lesionFraction);
      setStatus('done');
    } catch (e) {
      delete document.body.dataset.lesionFraction;
      setStatus('error', (e as Error).message);
    }
  };

  const file = $<HTMLInputElement>('file');
  file.addEventListener('change', () => {
    if (file.files?.[0]) void segment(file.files[0], file.files[0].name);
  });
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer?.files[0];
    if (f) void segment(f, f.name);
  });
  if (info.trainable) {
    await fineTunePanel({
      ort,
      backend,
      decode,
      fetchBytes: async (url, what) => (await fetchOk(url, what)).arrayBuffer(),
      adapted: (adapted) => (net = adapted),
    });
  }
  document.body.dataset.loadMs = performance.now().toFixed(0);
  setStatus('ready', 'Ready: open or drop an image.');

  const named = new URLSearchParams(location.search).get('image');
  if (named !== null) {
    if (!/^[^/\\]+$/.test(named) || named === '.' || named === '..') throw new Error(`?image=${named}: expected the name of an image file in this page's folder, e.g. ?image=lesion.jpg`);
    let blob: Blob;
    try {
      blob = await (await fetchOk(encodeURIComponent(named), `?image=${named}`)).blob();
    } catch (e) {
      throw new Error(`${(e as Error).message}; put the image in the folder of index.html`);
    }
    await segment(blob, named);
  }
}

main().catch((e: Error) => setStatus('error', e.message));
