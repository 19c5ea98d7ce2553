/**
 * Data-pipeline benchmark: augmentation time per sample of each preset, what each source-resolution
 * cap costs and changes, the memory of a dataset kept at source resolution, and decode times of a
 * large JPEG (jimp vs sharp). A script, not a test: numbers depend on the machine and its load, so
 * every comparison is run side by side in one process, alternating, and medians are printed.
 * Times are CPU times of this (single-threaded) process, process.cpuUsage(), which a machine
 * shared with other jobs inflates far less than wall time; sharp's decoding runs in libuv's
 * thread pool, also counted.
 *
 *   npm run bench:augment -- [parts]
 *
 * parts (default all): augment, caps, memory, decode. Options: --size S (default 128), --reps N.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Jimp } from 'jimp';
import { AUGMENT_PRESETS, applyAugment, drawParams, type AugmentConfig } from '../src/data/augment';
import { maskToTensor, toTensor } from '../src/data/tensor';
import { decodeFile } from '../src/data/decode';
import { defaultSourceMaxSide, loadDataset } from '../src/data/datasets';
import { decodeImage, decodeMask, fitWithin, resizeBilinear, resizeNearest, type Image, type Mask } from '../src/data/image';
import { Rng } from '../src/data/rng';
import { generateSynthetic } from '../src/data/synthetic';

const args = process.argv.slice(2);
const flag = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const S = flag('size', 128);
const REPS = flag('reps', 40);
const parts = args.filter((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1]!.startsWith('--')));
const want = (p: string): boolean => parts.length === 0 || parts.includes(p);

const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
/** CPU milliseconds (user + system, all threads of this process) that `f` takes. */
async function cpuMs(f: () => unknown): Promise<number> {
  const c = process.cpuUsage();
  await f();
  const d = process.cpuUsage(c);
  return (d.user + d.system) / 1000;
}
function cpuMsSync(f: () => unknown): number {
  const c = process.cpuUsage();
  f();
  const d = process.cpuUsage(c);
  return (d.user + d.system) / 1000;
}
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** A lesion-like sample of any size: the synthetic generator at max(w, h), top-left w x h. */
function lesionSample(i: number, w: number, h: number): { image: Image; mask: Mask } {
  const side = Math.max(w, h);
  const g = generateSynthetic(i + 1, side);
  const img = new Uint8Array(w * h * 3);
  const mask = new Uint8Array(w * h);
  const off = i * side * side;
  for (let y = 0; y < h; y++) {
    img.set(g.images.subarray((off + y * side) * 3, (off + y * side + w) * 3), y * w * 3);
    mask.set(g.masks.subarray(off + y * side, off + y * side + w), y * w);
  }
  return { image: { data: img, width: w, height: h, channels: 3 }, mask: { data: mask, width: w, height: h } };
}

/** One sample through a preset as collate does it: draw, apply, normalise into a tensor. */
function augmentOnce(config: AugmentConfig, src: { image: Image; mask: Mask }, cached: { image: Image; mask: Mask }, k: number): void {
  const from = config.cropFrom === 'source' ? src : cached;
  const p = drawParams(Rng.derive(1, 2, k), S, config, [from.image.width, from.image.height]);
  const out = applyAugment(p, from.image, from.mask);
  toTensor(out.image, new Float32Array(3 * S * S));
  maskToTensor(out.mask, new Float32Array(S * S));
}

function benchAugment(): void {
  const BLOCK = 8;
  console.log(`\n## Augmentation, CPU ms per sample at S = ${S} (median over ${REPS} blocks of ${BLOCK} samples, presets alternating)`);
  const presets = (['cached', 'study', 'plain'] as const).map((n) => AUGMENT_PRESETS[n]);
  for (const [label, w, h] of [['PH2-like 765x560', 765, 560], ['ISIC 256x256', 256, 256]] as const) {
    const samples = [0, 1, 2, 3].map((i) => lesionSample(i, w, h));
    const cached = samples.map((s) => ({ image: resizeBilinear(s.image, S), mask: resizeNearest(s.mask, S) }));
    const times = presets.map(() => [] as number[]);
    for (let r = 0; r < REPS + 1; r++) {
      presets.forEach((c, j) => {
        const ms = cpuMsSync(() => {
          for (let k = 0; k < BLOCK; k++) augmentOnce(c, samples[k % 4]!, cached[k % 4]!, r * BLOCK + k);
        });
        if (r >= 1) times[j]!.push(ms / BLOCK);
      });
    }
    console.log(`${label}: ` + presets.map((c, j) => `${c.name} ${median(times[j]!).toFixed(2)}`).join(', ') + ', none 0 (normalisation only)');
  }
}

/** Mean |x(i+1) - x(i)| along rows of an S x S float HWC image: how much fine detail it has. */
function detail(f: Float32Array): number {
  let d = 0;
  for (let y = 0; y < S; y++) for (let x = 0; x + 1 < S; x++) for (let c = 0; c < 3; c++) d += Math.abs(f[(y * S + x + 1) * 3 + c]! - f[(y * S + x) * 3 + c]!);
  return d / (S * (S - 1) * 3);
}

/**
 * The study preset's output from capped vs original sources: CPU time, mean |difference| (8-bit
 * units; mostly the crop box rounding to other pixels), and fine detail relative to the original's.
 */
function benchCaps(): void {
  console.log(`\n## Source cap at S = ${S}, PH2-like 765x560: study preset CPU ms/sample and mean |diff| to the original, 0..255`);
  const samples = [0, 1, 2, 3].map((i) => lesionSample(i, 765, 560));
  const caps = [2, 3, 4, 6].map((k) => k * S).filter((m) => m < 765);
  const capped = caps.map((m) =>
    samples.map((s) => {
      const [w, h] = fitWithin(765, 560, m);
      return { image: resizeBilinear(s.image, w, h), mask: resizeNearest(s.mask, w, h) };
    }),
  );
  const study = AUGMENT_PRESETS.study;
  const n = Math.min(REPS, 24);
  const rows = caps.map(() => ({ ms: [] as number[], diff: 0, maskDiff: 0, detail: 0 }));
  const origMs: number[] = [];
  let origDetail = 0;
  let cachedDetail = 0;
  const cachedSamples = samples.map((s) => ({ image: resizeBilinear(s.image, S), mask: resizeNearest(s.mask, S) }));
  for (let k = 0; k < n; k++) {
    const s = samples[k % 4]!;
    let ref!: ReturnType<typeof applyAugment>;
    origMs.push(cpuMsSync(() => (ref = applyAugment(drawParams(Rng.derive(3, k), S, study, [765, 560]), s.image, s.mask))));
    origDetail += detail(ref.image.data);
    const c = cachedSamples[k % 4]!;
    cachedDetail += detail(applyAugment(drawParams(Rng.derive(3, k), S, AUGMENT_PRESETS.cached), c.image, c.mask).image.data);
    caps.forEach((_, j) => {
      const c = capped[j]![k % 4]!;
      let out!: ReturnType<typeof applyAugment>;
      rows[j]!.ms.push(cpuMsSync(() => (out = applyAugment(drawParams(Rng.derive(3, k), S, study, [c.image.width, c.image.height]), c.image, c.mask))));
      let d = 0;
      for (let i = 0; i < out.image.data.length; i++) d += Math.abs(out.image.data[i]! - ref.image.data[i]!);
      rows[j]!.diff += (255 * d) / out.image.data.length / n;
      rows[j]!.detail += detail(out.image.data);
      let m = 0;
      for (let i = 0; i < out.mask.data.length; i++) m += out.mask.data[i] !== ref.mask.data[i] ? 1 : 0;
      rows[j]!.maskDiff += m / out.mask.data.length / n;
    });
  }
  console.log(`original 765x560: ${median(origMs).toFixed(2)} ms; the cached preset keeps ${((100 * cachedDetail) / origDetail).toFixed(0)}% of the original's fine detail`);
  caps.forEach((m, j) => {
    const [w, h] = fitWithin(765, 560, m);
    console.log(
      `cap ${m / S}S = ${m} (${w}x${h}): ${median(rows[j]!.ms).toFixed(2)} ms, image mean |diff| ${rows[j]!.diff.toFixed(2)}, ` +
        `fine detail ${((100 * rows[j]!.detail) / origDetail).toFixed(0)}%, mask pixels differing ${(100 * rows[j]!.maskDiff).toFixed(2)}%`,
    );
  });
}

async function writeJpeg(file: string, img: Image, quality = 90): Promise<void> {
  const rgba = Buffer.alloc(img.width * img.height * 4, 255);
  for (let i = 0; i < img.width * img.height; i++) for (let c = 0; c < 3; c++) rgba[i * 4 + c] = img.data[i * 3 + c]!;
  const j = Jimp.fromBitmap({ data: rgba, width: img.width, height: img.height });
  writeFileSync(file, await j.getBuffer('image/jpeg', { quality }));
}

async function writePng(file: string, mask: Mask): Promise<void> {
  const rgba = Buffer.alloc(mask.width * mask.height * 4, 255);
  for (let i = 0; i < mask.width * mask.height; i++) rgba[i * 4] = rgba[i * 4 + 1] = rgba[i * 4 + 2] = mask.data[i]! * 255;
  writeFileSync(file, await Jimp.fromBitmap({ data: rgba, width: mask.width, height: mask.height }).getBuffer('image/png'));
}

async function benchMemory(): Promise<void> {
  console.log(`\n## Memory of a dataset kept at source resolution, S = ${S} (20 PH2-like 765x560 JPEG pairs)`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'melseg-bench-mem-'));
  try {
    mkdirSync(path.join(dir, 'images'));
    mkdirSync(path.join(dir, 'masks'));
    for (let i = 0; i < 20; i++) {
      const s = lesionSample(i, 765, 560);
      await writeJpeg(path.join(dir, 'images', `s${i}.jpg`), s.image);
      await writePng(path.join(dir, 'masks', `s${i}.png`), s.mask);
    }
    for (const keep of [false, { maxSide: 4 * S }, { maxSide: null }] as const) {
      const ds = await loadDataset(dir, { imageSize: S, cacheDir: null, keepSource: keep });
      const sized = ds.images.length + ds.masks.length;
      const src = ds.sourceRes ? ds.sourceRes.images.reduce((a, b) => a + b.length, 0) + ds.sourceRes.masks.reduce((a, b) => a + b.length, 0) : 0;
      const label = keep === false ? 'S x S only' : keep.maxSide === null ? 'originals' : `cap ${keep.maxSide}`;
      console.log(`${label}: ${mib(sized + src)} for 20 samples = ${((sized + src) / 20 / 2 ** 20).toFixed(2)} MiB/sample (S x S part ${mib(sized)})`);
    }
    console.log(
      'Per sample: S x S costs 4 S^2 bytes; the source w x h costs 4 w h bytes. ' +
        `PH2 (200 x 765x560) originals: ${mib(200 * 765 * 560 * 4)}; 2000 photos of 4:3 aspect, larger than the cap, ` +
        `at cap 4S=${4 * S}: ${mib(2000 * 4 * fitWithin(4000, 3000, 4 * S).reduce((a, b) => a * b, 1))}, ` +
        `at cap 6S=${6 * S}: ${mib(2000 * 4 * fitWithin(4000, 3000, 6 * S).reduce((a, b) => a * b, 1))}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchDecode(): Promise<void> {
  console.log('\n## Decoding a 6-megapixel (3000x2000) JPEG, quality 90: jimp (jpeg-js) vs sharp, CPU ms, alternating, median of 5');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'melseg-bench-dec-'));
  try {
    const big = lesionSample(0, 1500, 1000);
    const up = resizeBilinear(big.image, 3000, 2000);
    const file = path.join(dir, 'big.jpg');
    await writeJpeg(file, up);
    const maskFile = path.join(dir, 'big.png');
    await writePng(maskFile, resizeNearest(big.mask, 3000, 2000));
    const bytes = readFileSync(file);
    const jpeg = (new Jimp({ width: 1, height: 1 }).formats as unknown as { mime: string; decode: (b: Buffer) => { data: Uint8Array } }[]).find((f) => f.mime === 'image/jpeg')!;
    const tj: number[] = [];
    const ts: number[] = [];
    let a: Uint8Array | null = null;
    let b: Uint8Array | null = null;
    for (let r = 0; r < 5; r++) {
      tj.push(cpuMsSync(() => (a = jpeg.decode(bytes).data)));
      ts.push(await cpuMs(async () => (b = (await decodeFile(file, 'image')).data as Uint8Array)));
    }
    let maxd = 0;
    let sum = 0;
    const hist = new Array(6).fill(0);
    for (let i = 0; i < 3000 * 2000; i++) {
      for (let c = 0; c < 3; c++) {
        const d = Math.abs(a![i * 4 + c]! - b![i * 3 + c]!);
        maxd = Math.max(maxd, d);
        sum += d;
        hist[Math.min(d, 5)]++;
      }
    }
    console.log(`jimp ${median(tj).toFixed(0)} ms, sharp ${median(ts).toFixed(0)} ms (x${(median(tj) / median(ts)).toFixed(1)})`);
    const maskBytes = readFileSync(maskFile);
    const png = (new Jimp({ width: 1, height: 1 }).formats as unknown as { mime: string; decode: (b: Buffer) => { data: Uint8Array } }[]).find((f) => f.mime === 'image/png')!;
    const pj: number[] = [];
    const ps: number[] = [];
    for (let r = 0; r < 5; r++) {
      pj.push(cpuMsSync(() => png.decode(maskBytes)));
      ps.push(await cpuMs(() => decodeFile(maskFile, 'mask', true)));
    }
    console.log(`the 3000x2000 RGBA mask PNG: jimp (pngjs) ${median(pj).toFixed(0)} ms, sharp ${median(ps).toFixed(0)} ms (x${(median(pj) / median(ps)).toFixed(1)})`);
    console.log(
      `decoded values: max |jimp - sharp| ${maxd}, mean ${(sum / (3 * 6e6)).toFixed(3)}; share of samples differing by 0,1,2,3,4,5+: ` +
        hist.map((h) => `${((100 * h) / (3 * 6e6)).toFixed(1)}%`).join(' '),
    );
    const cap = defaultSourceMaxSide(S);
    const steps: Record<string, number[]> = { 'decode image (sharp)': [], 'decode + binarise mask': [], [`resize to ${S}`]: [], [`cap to ${cap}`]: [] };
 for (let r = 0; r < 3; r++) {
      let img!: Image;
      let m!: Mask;
      steps['decode image (sharp)']!.push(await cpuMs(async () => (img = await decodeImage(file))));
      steps['decode + binarise mask']!.push(await cpuMs(async () => (m = await decodeMask(maskFile))));
      steps[`resize to ${S}`]!.push(cpuMsSync(() => (resizeBilinear(img, S), resizeNearest(m, S))));
      const [w, h] = fitWithin(3000, 2000, cap);
      steps[`cap to ${cap}`]!.push(cpuMsSync(() => (resizeBilinear(img, w, h), resizeNearest(m, w, h))));
    }
    console.log('first load of one 6 MP pair, CPU ms, median of 3: ' + Object.entries(steps).map(([k, v]) => `${k} ${median(v).toFixed(0)} ms`).join(', '));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`melseg data bench, ${os.cpus().length} CPUs (${os.cpus()[0]?.model}), load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  if (want('augment')) benchAugment();
  if (want('caps')) benchCaps();
  if (want('memory')) await benchMemory();
  if (want('decode')) await benchDecode();
  console.log(`\nload average at the end ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
}

void main();
