import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import Papa from 'papaparse';
import { createHash } from 'crypto';
import { SETTINGS_COLUMNS } from '../../src/infer/csv';
import { evaluateCheckpoint, type EvaluateOptions } from '../../src/infer/evaluate';
import { saveCheckpointSync } from '../../src/checkpoint/checkpoint';
import { constantCheckpoint, pngSize, saveConstant, writeImage, writeMask } from './fixtures';

// Originals are 64 x 48, the network sees 32 x 32. The masks are one-pixel vertical stripes: on the
// even columns (half the image) or every fourth column (a quarter). Shrunk to 32 px (nearest: odd
// source columns) they vanish, so scoring at the network's resolution would see no lesion at all.
const W = 64;
const H = 48;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-infer-eval-'));
const data = path.join(root, 'data');
const graphsDir = path.join(root, 'graphs');
const stripes = { a: 2, b: 2, c: 2, d: 4 } as const;
for (const [id, every] of Object.entries(stripes)) {
  writeImage(path.join(data, 'images', `${id}.png`), W, H);
  writeMask(path.join(data, 'masks', `${id}.png`), W, H, (x) => x % every === 0);
}
fs.writeFileSync(path.join(root, 'split.json'), JSON.stringify({ train: [], valid: ['a', 'b'], test: ['c', 'd'] }));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const run = (checkpoint: string | string[], o: Partial<EvaluateOptions> = {}) =>
  evaluateCheckpoint({ checkpoint, data, splitFile: path.join(root, 'split.json'), split: 'test', cacheDir: null, graphsDir, csv: path.join(root, 'eval.csv'), force: true, ...o });

describe('evaluate scores at the original resolution', () => {
  it('upsamples the probabilities to each image and compares with the original mask file', async () => {
    const ck = saveConstant(path.join(root, 'sure.ckpt'), 0.9, { dataset: data });
    const r = await run(ck);
    expect(r.images.map((i) => [i.id, i.width, i.height])).toEqual([['c', W, H], ['d', W, H]]);
    // everything is lesion: IoU = the stripes' share of the ORIGINAL mask
    expect(r.images.map((i) => i.iou)).toEqual([0.5, 0.25]);
    expect(r.images[0]).toMatchObject({ tp: (W * H) / 2, fp: (W * H) / 2, fn: 0, tn: 0 });
    expect(r.mean.iou).toBeCloseTo(0.375, 12);
    expect(r.std.iou).toBeCloseTo(0.125, 12);
    expect(r.mean.dice).toBeCloseTo((2 / 3 + 0.4) / 2, 12);
    expect(r.mean.sensitivity).toBe(1);
    expect(r.mean.specificity).toBe(0);
    expect(r.settings).toEqual({ tta: 'none', largestComponent: false, fillHoles: false, threshold: 0.5 });
    expect(r.reference).toBeUndefined();
    const rows = Papa.parse<string[]>(fs.readFileSync(r.csv, 'utf8').trim()).data;
    expect(rows[0]).toEqual(['id', 'width', 'height', 'iou', 'dice', 'accuracy', 'sensitivity', 'specificity', 'tp', 'fp', 'fn', 'tn', ...SETTINGS_COLUMNS]);
    expect(rows.slice(1).map((x) => [x[0], x[1], x[3]])).toEqual([['c', '64', '0.5'], ['d', '64', '0.25']]);
  });

  it('--save-masks writes the final masks at the original size', async () => {
    const ck = saveConstant(path.join(root, 'sure.ckpt'), 0.9, { dataset: data });
    const masks = path.join(root, 'masks-out');
    await run(ck, { saveMasks: masks });
    expect(fs.readdirSync(masks).sort()).toEqual(['c_mask.png', 'd_mask.png']);
    expect(pngSize(path.join(masks, 'c_mask.png'))).toEqual([W, H]);
  });
});

describe('evaluate --threshold auto', () => {
  // The network says 0.42 everywhere: thresholds 0.30..0.40 call everything lesion, 0.45.. nothing.
  it('chooses the threshold on the valid split and scores the test split with it', async () => {
    const ck = saveConstant(path.join(root, 'unsure.ckpt'), 0.42, { dataset: data });
    expect((await run(ck)).images.map((i) => i.iou)).toEqual([0, 0]);
    const r = await run(ck, { inference: { threshold: 'auto' } });
    expect(r.auto!.images).toBe(2);
    expect(r.auto!.table.map((t) => t.iou)).toEqual([0.5, 0.5, 0.5, 0, 0, 0, 0, 0, 0]);
    expect(r.settings.threshold).toBe(0.4);
    expect(r.images.map((i) => i.iou)).toEqual([0.5, 0.25]);
  });

  it('refuses to score the split it tunes on', async () => {
    const ck = saveConstant(path.join(root, 'unsure.ckpt'), 0.42, { dataset: data });
    await expect(run(ck, { split: 'valid', inference: { threshold: 'auto' } })).rejects.toThrow(
      '--threshold auto chooses the threshold on the valid split, so it cannot score --split valid (a tuned score is optimistic): use --split test, or give a number, e.g. --threshold 0.5',
    );
    await expect(run(ck, { split: 'all', inference: { threshold: 'auto' } })).rejects.toThrow(/cannot score --split all/);
  });
});

describe('evaluate settings', () => {
  it("uses the checkpoint's own settings unless a preset or flag says otherwise", async () => {
    const ck = saveConstant(path.join(root, 'tuned.ckpt'), 0.42, { dataset: data, inference: { tta: 'flips', largestComponent: true, fillHoles: true, threshold: 0.4 } });
    const own = await run(ck);
    expect(own.origin).toBe('the checkpoint');
    expect(own.settings).toEqual({ tta: 'flips', largestComponent: true, fillHoles: true, threshold: 0.4 });
    expect(own.images.map((i) => i.iou)).toEqual([0.5, 0.25]);
    const raw = await run(ck, { inference: { preset: 'raw' } });
    expect(raw.images.map((i) => i.iou)).toEqual([0, 0]);
    const flag = await run(ck, { inference: { threshold: 0.45 } });
    expect(flag.settings.threshold).toBe(0.45);
    expect(flag.settings.tta).toBe('flips');
  });

  it('refuses a checkpoint with non-finite weights, naming the tensor', async () => {
    const ck = constantCheckpoint(0.9, { dataset: data });
    (ck.params['conv1.0.weight'].data as Float32Array)[3] = NaN;
    const file = path.join(root, 'nan.ckpt');
    saveCheckpointSync(file, ck);
    await expect(run(file)).rejects.toThrow(`checkpoint ${file}: tensor "conv1.0.weight" holds NaN at element 3; the weights are broken (training diverged): use an earlier checkpoint such as best.ckpt, or retrain`);
  });
});

describe('evaluate on PH2 prints the study as a reference for the same split', () => {
  it('gives the reference of the scored split (valid or test), or says there is none', async () => {
    const ph2 = path.join(root, 'PH2Dataset', 'PH2 Dataset images');
    for (const id of ['IMD001', 'IMD002']) {
      writeImage(path.join(ph2, id, `${id}_Dermoscopic_Image`, `${id}.bmp`), W, H); // PNG bytes: decoding sniffs the format
      writeMask(path.join(ph2, id, `${id}_lesion`, `${id}_lesion.bmp`), W, H, (x) => x < 20);
    }
    fs.writeFileSync(path.join(root, 'ph2-split.json'), JSON.stringify({ train: [], valid: ['IMD001'], test: ['IMD002'] }));
    const ck = saveConstant(path.join(root, 'ph2.ckpt'), 0.9);
    const o = { data: path.join(root, 'PH2Dataset'), splitFile: path.join(root, 'ph2-split.json') };
    expect((await run(ck, { ...o, split: 'test' })).reference).toEqual({ split: 'test', iou: 0.861 });
    expect((await run(ck, { ...o, split: 'valid' })).reference).toEqual({ split: 'valid', iou: 0.825 });
    expect((await run(ck, { ...o, split: 'all' })).reference).toEqual({ split: 'all' });
  });
});

describe('evaluate an ensemble of checkpoints', () => {
  const member = (name: string, p: number, train: string[] = []) => {
    const dir = path.join(root, 'ensemble', name);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'split.json'), JSON.stringify({ train, valid: ['a', 'b'], test: ['c', 'd'] }));
    fs.writeFileSync(path.join(dir, 'run.json'), '{}'); // a run folder: the default CSV goes there
    return saveConstant(path.join(dir, 'best.ckpt'), p, { dataset: data });
  };

  it('averages the probabilities of its members before thresholding', async () => {
    // 0.3 and 0.9 average to 0.6 (all lesion); 0.2 and 0.7 to 0.45 (nothing), though 0.7 alone says lesion
    const lesion = await run([member('p30', 0.3), member('p90', 0.9)]);
    expect(lesion.checkpoints).toHaveLength(2);
    expect(lesion.images.map((i) => i.iou)).toEqual([0.5, 0.25]);
    const none = await run([member('p20', 0.2), member('p70', 0.7)]);
    expect(none.images.map((i) => i.iou)).toEqual([0, 0]);
    expect((await run(member('p70', 0.7))).images.map((i) => i.iou)).toEqual([0.5, 0.25]);
  });

  it('writes its per-image CSV apart from the single checkpoint one', async () => {
    const a = member('p30', 0.3);
    const r = await run([a, member('p90', 0.9)], { csv: undefined });
    expect(r.csv).toBe(path.join(path.dirname(a), 'eval_test_ensemble2.csv'));
    expect(fs.existsSync(r.csv)).toBe(true);
  });

  it('refuses members trained at another image size, or the same checkpoint twice', async () => {
    const big = path.join(root, 'ensemble', 'big.ckpt');
    const ck = constantCheckpoint(0.9, { dataset: data });
    ck.meta.imageSize = 64;
    saveCheckpointSync(big, ck);
    const a = member('p30', 0.3);
    await expect(run([a, big])).rejects.toThrow(`--checkpoint ${big} was trained at 64 px, ${a} at 32 px; an ensemble averages maps of one size: use checkpoints trained at the same --image-size`);
    await expect(run([a, a])).rejects.toThrow(`--checkpoint ${a} is given twice`);
  });
});

describe('evaluate refuses to score images a checkpoint trained on', () => {
  it('names the checkpoint, the images and the way out, for one checkpoint or any member', async () => {
    const dir = path.join(root, 'leaky');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'split.json'), JSON.stringify({ train: ['c', 'a'], valid: ['b'], test: ['d'] }));
    const leaky = saveConstant(path.join(dir, 'best.ckpt'), 0.9, { dataset: data });
    // root/split.json's test images are c and d; this run trained on c
    const msg = `1 of the 2 test images (c) are training images of ${leaky} (its ${path.join(dir, 'split.json')}); their score would be optimistic: pass a --split-file whose test images none of the checkpoints trained on, or --split train to score training images on purpose`;
    await expect(run(leaky)).rejects.toThrow(msg);
    await expect(run([saveConstant(path.join(root, 'clean.ckpt'), 0.9, { dataset: data }), leaky])).rejects.toThrow(msg);
    await expect(run(leaky, { split: 'valid' })).rejects.toThrow(`1 of the 2 valid images (a) are training images of ${leaky}`);
    // --threshold auto tunes on the valid images: refused when the run trained on them, even for clean test images
    fs.writeFileSync(path.join(root, 'clean-test.json'), JSON.stringify({ train: [], valid: ['a', 'b'], test: ['d'] }));
    await expect(run(leaky, { splitFile: path.join(root, 'clean-test.json'), inference: { threshold: 'auto' } })).rejects.toThrow(`1 of the 2 valid images (a) are training images of ${leaky}`);
    // its own split file: nothing it trained on is scored
    expect((await run(leaky, { splitFile: path.join(dir, 'split.json') })).images.map((i) => i.id)).toEqual(['d']);
  });
});

describe('evaluate beyond the mean', () => {
  it('gives median, thresholded Jaccard and failures, per label from labels.csv and reweighted to a mix', async () => {
    const ck = saveConstant(path.join(root, 'sure.ckpt'), 0.9, { dataset: data });
    const labels = path.join(root, 'labels-two.csv');
    fs.writeFileSync(labels, 'id,label\nc,nevus\nd,keratosis\n');
    // c scores 0.5, d 0.25 (see the first test): both below 0.65, d below 0.3
    const r = await run(ck, { labels, weightsFrom: 'nevus=1,keratosis=3' });
    expect(r.labels).toBe(labels);
    expect(r.summary.all).toMatchObject({ n: 2, median: 0.375, thresholdedJaccard: 0, countBelow03: 1, countBelow065: 2 });
    expect(r.summary.groups!.keratosis).toMatchObject({ n: 1, mean: 0.25, countBelow03: 1 });
    expect(r.summary.groups!.nevus).toMatchObject({ n: 1, mean: 0.5, countBelow03: 0 });
    expect(r.summary.reweighted!.summary.mean).toBeCloseTo(0.25 * 0.5 + 0.75 * 0.25, 12);
    expect(r.summary.reweighted!.summary.below03).toBeCloseTo(0.75, 12);
  });

  it('draws the failure gallery of the worst images beside the CSV, worst first', async () => {
    const ck = saveConstant(path.join(root, 'sure.ckpt'), 0.9, { dataset: data });
    const csv = path.join(root, 'gallery', 'eval.csv');
    const r = await run(ck, { csv, labels: false });
    expect(r.gallery).toEqual({ file: path.join(root, 'gallery', 'eval_worst.png'), ids: ['d', 'c'] });
    const [w, h] = pngSize(r.gallery!.file);
    expect(w).toBeGreaterThan(4 * 32);
    expect(h).toBeGreaterThan(2 * 32);
    const one = await run(ck, { csv, labels: false, gallery: 1, force: true });
    expect(one.gallery!.ids).toEqual(['d']);
    const none = await run(ck, { csv: path.join(root, 'nogallery', 'eval.csv'), labels: false, gallery: 0 });
    expect(none.gallery).toBeUndefined();
    expect(fs.existsSync(path.join(root, 'nogallery', 'eval_worst.png'))).toBe(false);
  });

  it('refuses a mix when no labels are known, before running the network', async () => {
    const ck = saveConstant(path.join(root, 'sure.ckpt'), 0.9, { dataset: data });
    await expect(run(ck, { labels: false, weightsFrom: 'isic2017-validation' })).rejects.toThrow(/--weights-from isic2017-validation needs the images' labels, and no labels.csv was found/);
  });
});

describe("evaluate's per-image CSV: where it goes, what it records, what it never replaces", () => {
  const cwd = process.cwd();
  const here = path.join(root, 'cwd');
  beforeAll(() => {
    fs.mkdirSync(here, { recursive: true });
    process.chdir(here);
  });
  afterAll(() => process.chdir(cwd));

  it("records the settings and the checkpoint's SHA-256 on every row, loadable by papaparse", async () => {
    const ck = saveConstant(path.join(root, 'hashed.ckpt'), 0.9, { dataset: data });
    const r = await run(ck, { inference: { preset: 'best', threshold: 0.3 } });
    const rows = Papa.parse<Record<string, string>>(fs.readFileSync(r.csv, 'utf8').trim(), { header: true }).data;
    expect(rows).toHaveLength(2);
    const sha = createHash('sha256').update(fs.readFileSync(ck)).digest('hex');
    for (const row of rows)
      expect(row).toMatchObject({ split: 'test', tta: 'flips', threshold: '0.3', largest_component: 'true', fill_holes: 'true', settings: 'preset best + flags', checkpoint: ck, checkpoint_sha256: sha });
  });

  it('without --csv, a checkpoint outside a run folder (the shipped model) writes into the current folder, never beside it, and keeps earlier results', async () => {
    const pkg = path.join(root, 'pkg', 'models');
    fs.mkdirSync(pkg, { recursive: true });
    const ck = saveConstant(path.join(pkg, 'shipped.safetensors'), 0.9, { dataset: data });
    const first = await run(ck, { csv: undefined });
    const second = await run(ck, { csv: undefined, inference: { threshold: 0.95 } });
    expect([first.csv, second.csv]).toEqual(['eval_test.csv', 'eval_test-2.csv']);
    expect(fs.readdirSync(pkg)).toEqual(['shipped.safetensors']);
    expect(fs.readFileSync(path.join(here, 'eval_test.csv'), 'utf8')).toMatch(/,0\.5,/); // the first run's threshold, kept
    expect(fs.readFileSync(path.join(here, 'eval_test-2.csv'), 'utf8')).toMatch(/,0\.95,/);
  });

  it('--csv never names the checkpoint, the split file or a dataset file; an existing file needs --force', async () => {
    const ck = saveConstant(path.join(root, 'victim.ckpt'), 0.9, { dataset: data });
    const before = fs.readFileSync(ck);
    const image = path.join(data, 'images', 'a.png');
    const imageBefore = fs.readFileSync(image);
    await expect(run(ck, { csv: ck })).rejects.toThrow(`--csv ${ck} is the --checkpoint file itself; write the per-image CSV beside it, e.g. --csv ${ck.replace(/\.ckpt$/, '.csv')}`);
    await expect(run(ck, { csv: path.join(root, 'split.json') })).rejects.toThrow('is the --split-file file itself');
    await expect(run(ck, { csv: image })).rejects.toThrow(`--csv ${image} is inside ${data}, the --data folder melseg reads; it never writes there: choose a file outside it, e.g. --csv eval_test.csv`);
    await expect(run(ck, { csv: path.join(data, 'new.csv') })).rejects.toThrow('the --data folder melseg reads');
    await expect(run(ck, { saveMasks: path.join(data, 'masks') })).rejects.toThrow(`--save-masks ${path.join(data, 'masks')} is inside ${data}, the --data folder melseg reads`);
    expect(fs.readdirSync(path.join(data, 'masks')).sort()).toEqual(['a.png', 'b.png', 'c.png', 'd.png']);
    expect(fs.readFileSync(ck).equals(before) && fs.readFileSync(image).equals(imageBefore)).toBe(true);
    const mine = path.join(root, 'mine.csv');
    fs.writeFileSync(mine, 'my notes');
    await expect(run(ck, { csv: mine, force: false })).rejects.toThrow(`--csv ${mine} already exists; add --force to replace it, or choose another --csv`);
    expect(fs.readFileSync(mine, 'utf8')).toBe('my notes');
    await run(ck, { csv: mine, force: true });
    expect(fs.readFileSync(mine, 'utf8')).toMatch(/^id,width/);
  });
});

describe('a model shipped without its run folder: <name>-split.json beside it says what it trained on', () => {
  it('refuses its training images as test images, and warns when --split all scores them', async () => {
    const dir = path.join(root, 'shipped-split');
    fs.mkdirSync(dir, { recursive: true });
    const ck = saveConstant(path.join(dir, 'model.safetensors'), 0.9, { dataset: data });
    fs.writeFileSync(path.join(dir, 'model-split.json'), JSON.stringify({ train: ['a', 'c'], valid: ['b'], test: ['d'] }));
    await expect(run(ck)).rejects.toThrow(`1 of the 2 test images (c) are training images of ${ck} (its ${path.join(dir, 'model-split.json')})`);
    const lines: string[] = [];
    const all = await run(ck, { split: 'all', log: (l) => lines.push(l) });
    expect(all.images).toHaveLength(4);
    expect(lines).toContain(
      `warning: 2 of the 4 images scored (a, c) are training images of ${ck} (its ${path.join(dir, 'model-split.json')}), so this score is optimistic; for an unbiased one score the images it did not train on: --split test`,
    );
    // without --split-file, its own split is the one scored
    expect((await run(ck, { splitFile: undefined })).images.map((i) => i.id)).toEqual(['d']);
  });
});
