/**
 * predict's memory at the original size, measured in a child process (its own high-water mark of
 * resident memory): the bytes a pixel that segmenting a 3000 x 3000 photo adds over a 40 x 40 one.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { ensureBuilt } from '../helpers/cli';
import { saveConstant, writeImage } from './fixtures';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-predict-memory-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** The bound: the original RGB (3 bytes a pixel), the overlay (3), its PNG rows (3) and the mask with its clean-up (about 9) in flight. */
const BYTES_PER_PIXEL = 20;

test(`predict holds at most ${BYTES_PER_PIXEL} bytes a pixel of a large image (no full-size float copies kept)`, () => {
  ensureBuilt();
  const ckpt = saveConstant(path.join(root, 'sure.ckpt'), 0.9);
  const small = writeImage(path.join(root, 'in', 'small.png'), 40, 40);
  const W = 3000;
  const big = writeImage(path.join(root, 'in', 'big.png'), W, W);
  const script = `
const { predictImages } = require(${JSON.stringify(path.resolve(__dirname, '../../dist/infer/predict'))});
(async () => {
  const o = { checkpoint: ${JSON.stringify(ckpt)}, graphsDir: ${JSON.stringify(path.join(root, 'graphs'))}, cacheDir: null };
  await predictImages({ ...o, inputs: [${JSON.stringify(small)}], out: ${JSON.stringify(path.join(root, 'out-small'))} });
  const before = process.resourceUsage().maxRSS;
  const r = await predictImages({ ...o, inputs: [${JSON.stringify(big)}], out: ${JSON.stringify(path.join(root, 'out-big'))} });
  console.log(JSON.stringify({ before, after: process.resourceUsage().maxRSS, done: r.predictions.length, failures: r.failures }));
})().catch((e) => { console.error(e); process.exit(1); });`;
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: process.env });
  expect(child.stderr).toBe('');
  const m = JSON.parse(child.stdout.trim().split('\n').pop()!) as { before: number; after: number; done: number; failures: unknown[] };
  expect([m.done, m.failures]).toEqual([1, []]);
  const perPixel = ((m.after - m.before) * 1024) / (W * W);
  console.log(`predict: ${perPixel.toFixed(1)} bytes a pixel over a 40 x 40 image (peak RSS ${(m.after / 1024).toFixed(0)} MiB)`);
  expect(perPixel).toBeLessThan(BYTES_PER_PIXEL);
}, 600_000);
