import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { train } from '../../src/train/trainer';
import { melseg } from '../helpers/cli';
import { Jimp } from 'jimp';

describe('melseg evaluate and predict', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-eval-'));
  let best = '';
  beforeAll(async () => {
    const r = await train({ model: 1, loss: 0, data: 'synthetic:24', epochs: 1, batchSize: 6, imageSize: 32, width: 1 / 16, seed: 2, out, graphsDir: path.join(out, 'graphs'), cacheDir: null, log: () => undefined, progress: false });
    best = r.bestCheckpoint!;
  });
  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  test('evaluate reads the configuration from the checkpoint and prints the mean and std of every metric', () => {
    const r = melseg(['evaluate', '--checkpoint', best, '--split', 'valid', '--save-masks', path.join(out, 'masks'), '--tta', 'flips', '--largest-component']);
    expect(r.status).toBe(0);
    for (const k of ['IoU', 'Dice', 'accuracy', 'sensitivity', 'specificity']) expect(r.stdout).toMatch(new RegExp(`${k}\\s+[01]\\.\\d{4}\\s+0\\.\\d{4}`));
    expect(r.stdout).toMatch(/scored at the original resolution/);
    expect(r.stdout).toContain('settings: tta flips, largest component, threshold 0.5 (raw + flags)');
    expect(r.stdout).not.toMatch(/reference/); // synthetic data, not PH2
    const csv = fs.readFileSync(path.join(path.dirname(best), 'eval_valid.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('id,width,height,iou,dice,accuracy,sensitivity,specificity,tp,fp,fn,tn,split,tta,threshold,largest_component,fill_holes,settings,checkpoint,checkpoint_sha256');
    expect(csv.length - 1).toBe(3);
    expect(fs.readdirSync(path.join(out, 'masks'))).toHaveLength(3);
  });

  test('evaluate --compare-settings prints the mean IoU of every combination, with auto tuned on valid', () => {
    const r = melseg(['evaluate', '--checkpoint', best, '--split', 'test', '--compare-settings']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/mean IoU \(std\) on 3 test images .*; threshold auto chosen on the 3 valid images/);
    const rows = r.stdout.split('\n').filter((l) => /^\s+(none|flips|d4)\s/.test(l));
    expect(rows).toHaveLength(12);
    for (const row of rows) expect(row).toMatch(/[01]\.\d{4} \(0\.\d{4}\)\s+0\.[3-7]\d\s+[01]\.\d{4} \(0\.\d{4}\)$/);
  });

  test('evaluate on a missing or truncated checkpoint, or a bad flag, names what is wrong without a stack trace', () => {
    const missing = melseg(['evaluate', '--checkpoint', path.join(out, 'nope.ckpt')]);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/nope\.ckpt does not exist/);
    const bad = path.join(out, 'truncated.ckpt');
    fs.writeFileSync(bad, fs.readFileSync(best).subarray(0, 100));
    const r = melseg(['evaluate', '--checkpoint', bad]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/truncated\.ckpt/);
    const t = melseg(['evaluate', '--checkpoint', best, '--threshold', '1.5']);
    expect(t.status).not.toBe(0);
    expect(t.stderr).toContain('--threshold 1.5: expected a number between 0 and 1');
    expect(t.stderr).not.toMatch(/\n\s+at /);
  });

  test('predict writes a 0/255 mask at the original size and an overlay; folders and clashing names work', async () => {
    const img = new Jimp({ width: 50, height: 40, color: 0xc08060ff });
    fs.mkdirSync(path.join(out, 'one'));
    fs.mkdirSync(path.join(out, 'two'));
    await img.write(path.join(out, 'one', 'lesion.png') as `${string}.png`);
    await img.write(path.join(out, 'two', 'lesion.png') as `${string}.png`);
    const r = melseg(['predict', '--checkpoint', best, path.join(out, 'one', 'lesion.png'), path.join(out, 'two'), '--out', path.join(out, 'pred'), '--preset', 'best']);
    expect(r.status).toBe(0);
    const maskPng = fs.readFileSync(path.join(out, 'pred', 'lesion_mask.png'));
    // PNG IHDR: width and height at bytes 16..23
    expect(maskPng.readUInt32BE(16)).toBe(50);
    expect(maskPng.readUInt32BE(20)).toBe(40);
    expect(fs.existsSync(path.join(out, 'pred', 'lesion_overlay.png'))).toBe(true);
    expect(fs.existsSync(path.join(out, 'pred', 'lesion_2_mask.png'))).toBe(true);
    expect(r.stdout).toMatch(/note: 1 input\(s\) share a file name with an earlier input/);
    expect(r.stdout).toMatch(/\(preset best\)/);
  });

  test('repeating --checkpoint scores and predicts with the ensemble, naming its members', () => {
    // a copy of the same weights (and split): the ensemble's mean equals the single network's output
    const twin = path.join(out, 'twin');
    fs.mkdirSync(twin);
    fs.copyFileSync(best, path.join(twin, 'best.ckpt'));
    fs.copyFileSync(path.join(path.dirname(best), 'split.json'), path.join(twin, 'split.json'));
    const iou = (stdout: string) => stdout.match(/IoU\s+([0-9.]+)/)![1];
    const one = melseg(['evaluate', '--checkpoint', best, '--split', 'valid']);
    const two = melseg(['evaluate', '--checkpoint', best, '--checkpoint', path.join(twin, 'best.ckpt'), '--split', 'valid']);
    expect(two.status).toBe(0);
    expect(two.stdout).toContain(`ensemble of 2 checkpoints (mean probability): ${best}, ${path.join(twin, 'best.ckpt')}`);
    expect(iou(two.stdout)).toBe(iou(one.stdout));
    const p = melseg(['predict', '-c', best, '-c', path.join(twin, 'best.ckpt'), path.join(out, 'one'), '--out', path.join(out, 'pred-ensemble')]);
    expect(p.status).toBe(0);
    expect(p.stdout).toMatch(/^ensemble of 2 checkpoints/m);
    expect(fs.existsSync(path.join(out, 'pred-ensemble', 'lesion_mask.png'))).toBe(true);
  });
});
