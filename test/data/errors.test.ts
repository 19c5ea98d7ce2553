import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import * as path from 'path';
import { loadDataset } from '../../src/data/datasets';
import { cornerMask, removeDir, tmpDir, to255, twoTone, writePairs, writePh2, writeRaster } from './helpers/fixtures';

let dir: string;
beforeAll(() => {
  dir = tmpDir('errors');
});
afterAll(() => removeDir(dir));

const opts = { imageSize: 4, cacheDir: null };
const sample = { width: 4, height: 4, ext: '.png' as const, top: [1, 2, 3] as [number, number, number], bottom: [4, 5, 6] as [number, number, number], maskRows: 2 };

describe('bad dataset input', () => {
  it('a missing path says which layouts are expected and where to get PH2 and ISIC', async () => {
    const missing = path.join(dir, 'nope');
    const err = loadDataset(missing, opts);
    await expect(err).rejects.toThrow(`Dataset path not found: ${missing}`);
    await expect(err).rejects.toThrow(/PH2 Dataset images.*fc\.up\.pt/s);
    await expect(err).rejects.toThrow(/_segmentation\.png.*isic-archive\.com/s);
  });

  it('a symlink loop as the dataset says it is a loop, not "not found"', async () => {
    const loop = path.join(dir, 'loop');
    symlinkSync(loop, loop);
    await expect(loadDataset(loop, opts)).rejects.toThrow(`Dataset path ${loop} is a symlink loop (a link on the way leads back to itself); point the link at the dataset folder (ln -sfn DATASET ${loop})`);
    const a = path.join(dir, 'loop-a');
    symlinkSync(path.join(dir, 'loop-b'), a);
    symlinkSync(a, path.join(dir, 'loop-b'));
    await expect(loadDataset(a, opts)).rejects.toThrow(`Dataset path ${a} is a symlink loop`);
  });

  it('a symlink to nothing names its target', async () => {
    const dangling = path.join(dir, 'dangling');
    symlinkSync(path.join(dir, 'gone'), dangling);
    await expect(loadDataset(dangling, opts)).rejects.toThrow(`Dataset path ${dangling} is a symlink to ${path.join(dir, 'gone')}, which does not exist`);
  });

  it('a folder of no known layout names the folder and what it contains', async () => {
    const root = path.join(dir, 'unknown');
    mkdirSync(path.join(root, 'x'), { recursive: true });
    mkdirSync(path.join(root, 'y'), { recursive: true });
    await expect(loadDataset(root, opts)).rejects.toThrow(`No known dataset layout in ${root} (found subfolders 'x', 'y')`);
  });

  it('an empty images folder is reported as an empty dataset', async () => {
    const root = path.join(dir, 'empty');
    mkdirSync(path.join(root, 'images'), { recursive: true });
    mkdirSync(path.join(root, 'masks'), { recursive: true });
    await expect(loadDataset(root, opts)).rejects.toThrow(`Dataset ${path.join(root, 'images')} is empty`);
  });

  it('an image without a mask is named, with the mask path that was expected', async () => {
    const root = path.join(dir, 'nomask');
    await writePairs(root, [{ id: 'ISIC_1', ...sample }, { id: 'ISIC_2', ...sample }]);
    rmSync(path.join(root, 'masks', 'ISIC_2_segmentation.png'));
    const err = loadDataset(root, opts);
    await expect(err).rejects.toThrow('1 image(s)');
    await expect(err).rejects.toThrow(`${path.join(root, 'images', 'ISIC_2.png')} (expected ${path.join(root, 'masks', 'ISIC_2_segmentation.png')})`);
  });

  it('a PH2 sample without a lesion mask is named', async () => {
    const ph2 = writePh2(path.join(dir, 'ph2-nomask'), [{ id: 'IMD010', ...sample, maskFormat: '1bit' }]);
    const lesion = path.join(ph2, 'PH2 Dataset images', 'IMD010', 'IMD010_lesion', 'IMD010_lesion.bmp');
    rmSync(lesion);
    await expect(loadDataset(ph2, opts)).rejects.toThrow(`(expected ${lesion})`);
  });

  it('a mask of another size than its image names both files and both sizes', async () => {
    const root = path.join(dir, 'size');
    await writeRaster(path.join(root, 'images', 'a.png'), 6, 4, twoTone(6, 4, [1, 2, 3], [4, 5, 6]));
    await writeRaster(path.join(root, 'masks', 'a.png'), 4, 4, to255(cornerMask(4, 4, 2)));
    await expect(loadDataset(root, opts)).rejects.toThrow(
      `Mask ${path.join(root, 'masks', 'a.png')} is 4x4 but its image ${path.join(root, 'images', 'a.png')} is 6x4`,
    );
  });

  it('a non-binary mask is named', async () => {
    const root = path.join(dir, 'grey');
    await writeRaster(path.join(root, 'images', 'a.png'), 4, 4, twoTone(4, 4, [1, 2, 3], [4, 5, 6]));
    await writeRaster(path.join(root, 'masks', 'a.png'), 4, 4, new Uint8Array(16).map((_, i) => i * 16));
    await expect(loadDataset(root, opts)).rejects.toThrow(`Mask ${path.join(root, 'masks', 'a.png')} is not binary`);
  });

  it('an unreadable image file is named', async () => {
    const root = path.join(dir, 'corrupt');
    await writePairs(root, [{ id: 'ISIC_1', ...sample }]);
    writeFileSync(path.join(root, 'images', 'ISIC_1.png'), 'broken');
    await expect(loadDataset(root, opts)).rejects.toThrow(`Cannot decode image ${path.join(root, 'images', 'ISIC_1.png')}`);
  });

  it('a bad synthetic spec and a bad image size are explained', async () => {
    await expect(loadDataset('synthetic:0', opts)).rejects.toThrow("synthetic needs N >= 1 samples, e.g. 'synthetic:64'");
    await expect(loadDataset('synthetic:2', { imageSize: 0 })).rejects.toThrow('imageSize must be a positive integer, found 0');
  });
});
