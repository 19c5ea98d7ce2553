/** Shared test helpers: temp dirs, a child-process runner that loads src/report/*.ts, PNG decoding. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn, ChildProcess, SpawnOptions } from 'child_process';
import { loadImage, createCanvas } from 'canvas';
import type { ResultRow } from '../../src/report/results';

export const REPO = path.resolve(__dirname, '../..');

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-report-'));
}

/** A temp dir for the whole test file, removed after its last test. */
export function tempDirForFile(): string {
  const dir = tempDir();
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function row(over: Partial<ResultRow> = {}): ResultRow {
  return {
    train_loss: 0.5,
    valid_loss: 0.6,
    metric: 0.7,
    model: 'UNet',
    criterion: 'dice_loss',
    epoch: 1,
    lr: 0.001,
    seconds: 12.5,
    images_per_s: 80,
    run: 'r1',
    ...over,
  };
}

/**
 * Starts `node -e <script>` with a require hook that transpiles .ts with the repo's TypeScript, so a child
 * can `require(SRC + '/results')` without a build. `script` gets SRC and ARGS (JSON) in scope.
 */
export function spawnTsNode(script: string, args: unknown, options: SpawnOptions = {}): ChildProcess {
  const prelude = `
const ts = require(${JSON.stringify(path.join(REPO, 'node_modules/typescript'))});
const fs = require('fs');
require.extensions['.ts'] = (m, f) => m._compile(ts.transpileModule(fs.readFileSync(f, 'utf8'),
  { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText, f);
const SRC = ${JSON.stringify(path.join(REPO, 'src/report'))};
const ARGS = JSON.parse(process.argv[1]);
`;
  return spawn(process.execPath, ['-e', prelude + script, JSON.stringify(args)], { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * A folder the test user cannot write to, and spawn options for a process that is that user: as root
 * (who may write anywhere) the child runs as `nobody`; otherwise as this user. The folder's parent is
 * made traversable so that the child can reach it.
 */
export function unwritableDir(parent: string): { dir: string; spawnAs: SpawnOptions } {
  const dir = path.join(parent, 'read-only');
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(parent, 0o755);
  fs.chmodSync(dir, 0o555);
  const root = process.getuid?.() === 0;
  return { dir, spawnAs: root ? { uid: 65534, gid: 65534 } : {} };
}

export function waitExit(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }> {
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.on('data', (d) => (stdout += d));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr, stdout })));
}

/** Width and height from the IHDR chunk, after checking the PNG signature. */
export function pngSize(file: string): { width: number; height: number } {
  const b = fs.readFileSync(file);
  expect(b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  expect(b.toString('ascii', 12, 16)).toBe('IHDR');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

/** RGBA pixels of a PNG, decoded by canvas. */
export async function pngPixels(file: string): Promise<{ width: number; height: number; data: Uint8ClampedArray }> {
  const img = await loadImage(fs.readFileSync(file));
  const c = createCanvas(img.width, img.height);
  const ctx = c.getContext('2d');
  ctx.drawImage(img, 0, 0);
  return { width: img.width, height: img.height, data: ctx.getImageData(0, 0, img.width, img.height).data };
}

/** Share of pixels that are not (near) white, and the variance of grey levels. */
export function inkStats(data: Uint8ClampedArray): { ink: number; variance: number; opaque: boolean } {
  let ink = 0;
  let sum = 0;
  let sum2 = 0;
  let opaque = true;
  const n = data.length / 4;
  for (let i = 0; i < n; i++) {
    const g = (data[i * 4] + data[i * 4 + 1] + data[i * 4 + 2]) / 3;
    if (g < 240) ink++;
    sum += g;
    sum2 += g * g;
    if (data[i * 4 + 3] !== 255) opaque = false;
  }
  const mean = sum / n;
  return { ink: ink / n, variance: sum2 / n - mean * mean, opaque };
}

/** Pixels within `tol` (per channel) of a #rrggbb colour. */
export function countColour(data: Uint8ClampedArray, hex: string, tol = 12): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  let k = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (Math.abs(data[i] - r) <= tol && Math.abs(data[i + 1] - g) <= tol && Math.abs(data[i + 2] - b) <= tol) k++;
  }
  return k;
}
