import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { decodeImage } from '../../src/data';
import { resolveCheckpoint } from '../../src/infer/model';
import { headerSize, MAX_PIXELS } from '../../src/infer/header';
import { expandInputs, outputStems, predictImages, printable, type PredictOptions } from '../../src/infer/predict';
import { saveCheckpointSync } from '../../src/checkpoint/checkpoint';
import { withFullDisk } from '../helpers/full-disk';
import { mulberry32 } from '../../src/util/mulberry32';
import { constantCheckpoint, pngBytes, pngSize, saveConstant, writeImage, writeMask } from './fixtures';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-infer-predict-'));
const graphsDir = path.join(root, 'graphs');
const sure = saveConstant(path.join(root, 'sure.ckpt'), 0.9);
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const predict = (inputs: string[], out: string, o: Partial<PredictOptions> = {}) => predictImages({ checkpoint: sure, inputs, out, graphsDir, cacheDir: null, ...o });

describe('predict', () => {
  it('writes a 0/255 mask and an overlay at the original size of images of any size', async () => {
    const img = writeImage(path.join(root, 'in', 'wide.png'), 70, 30);
    const out = path.join(root, 'out-size');
    const r = await predict([img], out);
    expect(r.predictions).toEqual([{ input: img, mask: path.join(out, 'wide_mask.png'), overlay: path.join(out, 'wide_overlay.png'), lesionFraction: 1 }]);
    expect(pngSize(r.predictions[0].mask)).toEqual([70, 30]);
    expect(pngSize(r.predictions[0].overlay)).toEqual([70, 30]);
    const mask = await decodeImage(r.predictions[0].mask);
    expect(new Set(mask.data)).toEqual(new Set([255]));
  });

  it('accepts folders: their image files, not other files or subfolders', async () => {
    const dir = path.join(root, 'photos');
    writeImage(path.join(dir, 'b.jpg.png'), 20, 20);
    writeImage(path.join(dir, 'a.png'), 20, 20);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not an image');
    writeImage(path.join(dir, 'sub', 'deep.png'), 20, 20);
    expect(expandInputs([dir])).toEqual([path.join(dir, 'a.png'), path.join(dir, 'b.jpg.png')]);
    const r = await predict([dir], path.join(root, 'out-folder'));
    expect(r.predictions.map((p) => path.basename(p.mask))).toEqual(['a_mask.png', 'b.jpg_mask.png']);
    expect(() => expandInputs([path.join(root, 'in', 'missing.png')])).toThrow(`image ${path.join(root, 'in', 'missing.png')} does not exist; check the path`);
    fs.mkdirSync(path.join(root, 'empty'));
    expect(() => expandInputs([path.join(root, 'empty')])).toThrow(/folder .*empty holds no image files .* name image files, or a folder that holds them/);
  });

  it('keeps the outputs of inputs that share a file name, and reports the renaming', async () => {
    const x1 = writeImage(path.join(root, 'a', 'x.png'), 40, 30);
    const x2 = writeImage(path.join(root, 'b', 'x.png'), 20, 10);
    const x3 = writeImage(path.join(root, 'c', 'X.jpg'), 12, 12);
    const out = path.join(root, 'out-dup');
    const r = await predict([x1, x2, x3], out);
    expect(r.predictions.map((p) => [path.basename(p.mask), p.renamedBecause])).toEqual([['x_mask.png', undefined], ['x_2_mask.png', x1], ['X_3_mask.png', x1]]);
    expect(pngSize(path.join(out, 'x_mask.png'))).toEqual([40, 30]);
    expect(pngSize(path.join(out, 'x_2_mask.png'))).toEqual([20, 10]);
    expect(pngSize(path.join(out, 'X_3_mask.png'))).toEqual([12, 12]);
    expect(outputStems(['p/x.png', 'q/x_2.png', 'r/x.png']).map((s) => s.stem)).toEqual(['x', 'x_2', 'x_3']);
  });

  it('replaces a symlink planted in --out instead of writing through it', async () => {
    const out = path.join(root, 'out-link');
    fs.mkdirSync(out);
    const victim = path.join(root, 'victim.txt');
    fs.writeFileSync(victim, 'precious');
    fs.symlinkSync(victim, path.join(out, 'lesion_mask.png'));
    fs.symlinkSync(victim, path.join(out, 'lesion_overlay.png'));
    await predict([writeImage(path.join(root, 'in', 'lesion.png'), 16, 16)], out);
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
    for (const f of ['lesion_mask.png', 'lesion_overlay.png']) {
      expect(fs.lstatSync(path.join(out, f)).isSymbolicLink()).toBe(false);
      expect(pngSize(path.join(out, f))).toEqual([16, 16]);
    }
  });

  it('refuses an --out that is a file, before any work', async () => {
    const file = path.join(root, 'a-file');
    fs.writeFileSync(file, '');
    await expect(predict([writeImage(path.join(root, 'in', 'one.png'), 8, 8)], file)).rejects.toThrow(`--out ${file} is a file; expected a folder for the masks and overlays: name another --out`);
  });

  it('refuses a checkpoint with non-finite weights, naming the tensor', async () => {
    const ck = constantCheckpoint(0.9);
    (ck.params['last.0.bias'].data as Float32Array)[0] = Infinity;
    const file = path.join(root, 'inf.ckpt');
    saveCheckpointSync(file, ck);
    await expect(predict([writeImage(path.join(root, 'in', 'one.png'), 8, 8)], path.join(root, 'out-inf'), { checkpoint: file })).rejects.toThrow(/tensor "last\.0\.bias" holds Infinity at element 0/);
  });

  it("uses the checkpoint's own settings by default, and --threshold auto on the run's valid split", async () => {
    const tuned = saveConstant(path.join(root, 'tuned.ckpt'), 0.42, { inference: { tta: 'd4', largestComponent: true, fillHoles: false, threshold: 0.4 } });
    const img = writeImage(path.join(root, 'in', 'one.png'), 8, 8);
    const own = await predict([img], path.join(root, 'out-own'), { checkpoint: tuned });
    expect(own.settings).toEqual({ tta: 'd4', largestComponent: true, fillHoles: false, threshold: 0.4 });
    expect(own.predictions[0].lesionFraction).toBe(1);
    expect((await predict([img], path.join(root, 'out-raw'), { checkpoint: tuned, inference: { preset: 'raw' } })).predictions[0].lesionFraction).toBe(0);

    const data = path.join(root, 'data');
    for (const id of ['v1', 'v2']) {
      writeImage(path.join(data, 'images', `${id}.png`), 32, 32);
      writeMask(path.join(data, 'masks', `${id}.png`), 32, 32, (x) => x < 16);
    }
    fs.writeFileSync(path.join(root, 'split.json'), JSON.stringify({ train: [], valid: ['v1', 'v2'], test: [] }));
    const auto = await predict([img], path.join(root, 'out-auto'), { checkpoint: tuned, data, splitFile: path.join(root, 'split.json'), inference: { preset: 'raw', threshold: 'auto' } });
    expect(auto.auto!.images).toBe(2);
    expect(auto.settings.threshold).toBe(0.4);
    expect(auto.predictions[0].lesionFraction).toBe(1);
  });
});

describe('the shipped model', () => {
  it('is the default checkpoint when installed; when it is missing the error says to pass --checkpoint', () => {
    const pkg = fs.mkdtempSync(path.join(root, 'pkg-'));
    expect(() => resolveCheckpoint(undefined, pkg)).toThrow(
      `no --checkpoint given, and the model that ships with melseg (${path.join(pkg, 'models', 'isic2017.safetensors')}) is not installed; pass --checkpoint artifacts/<run>/best.ckpt (melseg train writes one)`,
    );
    fs.mkdirSync(path.join(pkg, 'models'));
    fs.writeFileSync(path.join(pkg, 'models', 'isic2017.safetensors'), '');
    expect(resolveCheckpoint(undefined, pkg)).toBe(path.join(pkg, 'models', 'isic2017.safetensors'));
    expect(resolveCheckpoint('mine.ckpt', pkg)).toBe('mine.ckpt');
  });
});

describe('predict never replaces an input and bounds each image', () => {
  it('refuses an --out that holds an input (the same folder or one above it), before any work', async () => {
    const dir = path.join(root, 'self');
    const a = writeImage(path.join(dir, 'a.png'), 8, 8);
    const before = fs.readFileSync(a);
    await expect(predict([dir], dir)).rejects.toThrow(
      `--out ${dir} holds the input ${a}; predict writes <name>_mask.png and <name>_overlay.png there, which could replace inputs: choose a folder apart from the images, e.g. --out ${path.join(root, 'predictions')}`,
    );
    await expect(predict([a], root)).rejects.toThrow(`--out ${root} holds the input ${a}`);
    expect(fs.readdirSync(dir)).toEqual(['a.png']);
    expect(fs.readFileSync(a).equals(before)).toBe(true);
  });

  it('refuses an image whose header declares more than MAX_PIXELS before decoding it; the other images are segmented', async () => {
    const dir = path.join(root, 'mixed');
    writeImage(path.join(dir, 'a.png'), 8, 8);
    // a PNG header declaring 16000 x 16000 with no pixel data: decoding would fail differently, or exhaust memory
    const ihdr = Buffer.alloc(33);
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(ihdr);
    ihdr.writeUInt32BE(13, 8);
    ihdr.write('IHDR', 12, 'latin1');
    ihdr.writeUInt32BE(16000, 16);
    ihdr.writeUInt32BE(16000, 20);
    ihdr[24] = 8;
    ihdr[25] = 2;
    fs.writeFileSync(path.join(dir, 'b-huge.png'), ihdr);
    fs.writeFileSync(path.join(dir, 'c-broken.jpg'), 'not an image at all');
    writeImage(path.join(dir, 'd.png'), 8, 8);
    const done: string[] = [];
    const r = await predict([dir], path.join(root, 'out-mixed'), { onPrediction: (p) => done.push(path.basename(p.input)) });
    expect(r.predictions.map((p) => path.basename(p.input))).toEqual(['a.png', 'd.png']);
    expect(done).toEqual(['a.png', 'd.png']);
    expect(r.failures.map((f) => path.basename(f.input))).toEqual(['b-huge.png', 'c-broken.jpg']);
    expect(r.failures[0].error).toBe(
      `image ${path.join(dir, 'b-huge.png')} is 16000 x 16000 (256 megapixels); predict segments at most ${MAX_PIXELS / 1e6} megapixels (about 16 bytes a pixel at the original size): shrink it first, e.g. magick big.png -resize 10000x10000 smaller.png (ImageMagick)`,
    );
    expect(r.failures[1].error).toMatch(/Cannot decode image .*c-broken\.jpg: unknown file format/);
  });

  it('reads the size from the header of each format it knows', () => {
    const dir = path.join(root, 'headers');
    fs.mkdirSync(dir, { recursive: true });
    const gif = Buffer.alloc(13);
    gif.write('GIF89a', 0, 'latin1');
    gif.writeUInt16LE(300, 6);
    gif.writeUInt16LE(200, 8);
    fs.writeFileSync(path.join(dir, 'x.gif'), gif);
    const bmp = Buffer.alloc(54);
    bmp.write('BM', 0, 'latin1');
    bmp.writeInt32LE(640, 18);
    bmp.writeInt32LE(-480, 22); // top-down
    fs.writeFileSync(path.join(dir, 'x.bmp'), bmp);
    // SOI, an APP0 segment to skip, then SOF0 (length 17, precision 8, height 123, width 456)
    const jpg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 123, 0x01, 0xc8, 0x03]);
    fs.writeFileSync(path.join(dir, 'x.jpg'), jpg);
    expect(headerSize(writeImage(path.join(dir, 'x.png'), 70, 30))).toEqual({ width: 70, height: 30 });
    expect(headerSize(path.join(dir, 'x.gif'))).toEqual({ width: 300, height: 200 });
    expect(headerSize(path.join(dir, 'x.bmp'))).toEqual({ width: 640, height: 480 });
    expect(headerSize(path.join(dir, 'x.jpg'))).toEqual({ width: 456, height: 123 });
  });

  it('segments an image with a 235-character name (its temp files fit the filesystem)', async () => {
    const img = writeImage(path.join(root, 'long', `${'n'.repeat(235)}.png`), 8, 8);
    const out = path.join(root, 'out-long');
    const r = await predict([img], out);
    expect(r.failures).toEqual([]);
    expect(fs.readdirSync(out).sort()).toEqual([`${'n'.repeat(235)}_mask.png`, `${'n'.repeat(235)}_overlay.png`]);
  });

  it('stops at a full disk instead of failing every image alike', async () => {
    const dir = path.join(root, 'many');
    fs.mkdirSync(dir, { recursive: true });
    // mulberry32, not an LCG in doubles (seed * 1103515245 loses its low bits there and cycles: deflate shrank that "noise" to 17 KB)
    const rand = mulberry32(7);
    const noise = Uint8Array.from({ length: 600 * 600 * 3 }, () => Math.floor(rand() * 256));
    for (const n of ['a', 'b']) fs.writeFileSync(path.join(dir, `${n}.png`), pngBytes(noise, 600, 600, 3)); // an overlay of noise: ~1 MiB, the whole disk
    const seen: string[] = [];
    await withFullDisk(async (full) => {
      await expect(predict([dir], full, { onFailure: (f) => seen.push(f.input) })).rejects.toThrow(/could not write .*\(ENOSPC: .*the disk is full/);
    });
    expect(seen).toEqual([]);
  });

  it('printable shows terminal control characters as escapes', () => {
    expect(printable('a\x1b]0;pwned\x07b\x1b[31mred\nx.png')).toBe('a\\x1b]0;pwned\\x07b\\x1b[31mred\\x0ax.png');
    expect(printable('ISIC_0000001 é.jpg')).toBe('ISIC_0000001 é.jpg');
  });
});
