import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { train } from '../../src/train/trainer';
import { readResults } from '../../src/report/results';
import { writeImage, writeMask } from '../infer/fixtures';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-oversample-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const data = path.join(root, 'data');
const ids = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
for (const [k, id] of ids.entries()) {
  writeImage(path.join(data, 'images', `${id}.png`), 40, 40, [150 + 10 * k, 110, 90]);
  writeMask(path.join(data, 'masks', `${id}.png`), 40, 40, (x, y) => (x - 20) ** 2 + (y - 20) ** 2 < 100 + 10 * k);
}
fs.writeFileSync(path.join(root, 'labels.csv'), 'id,label\na,k\nb,k\nc,n\nd,n\ne,n\nf,n\ng,v\nh,n\n');
fs.writeFileSync(path.join(root, 'split.json'), JSON.stringify({ train: ['a', 'b', 'c', 'd', 'e', 'f'], valid: ['g', 'h'], test: [] }));

const cfg = { model: 1, loss: 1, data, split: path.join(root, 'split.json'), epochs: 1, batchSize: 2, imageSize: 32, width: 1 / 16, seed: 0, cacheDir: null, graphsDir: path.join(root, 'graphs'), progress: false };

describe('train --oversample', () => {
  it('draws the images of a label several times per epoch, from labels.csv beside the data, and says so', async () => {
    const lines: string[] = [];
    const r = await train({ ...cfg, out: path.join(root, 'o1'), oversample: 'k=3', log: (s) => lines.push(s) });
    expect(lines).toContain(`oversample: 2 k x3 (labels from ${path.join(root, 'labels.csv')}): 10 samples per epoch from 6 images`);
    // 10 samples in batches of 2: five steps, all in the one epoch's row
    expect(readResults(r.resultsFile)).toHaveLength(1);
    expect(JSON.parse(fs.readFileSync(path.join(path.dirname(r.lastCheckpoint), 'run.json'), 'utf8')).settings.oversample).toEqual({ k: 3 });
  });

  it('names the labels it found when the one asked for has no training image', async () => {
    await expect(train({ ...cfg, out: path.join(root, 'o2'), oversample: 'v=2' })).rejects.toThrow(/--oversample: no training image has the label v in .*labels\.csv \(labels of the training images: k, n\)/);
  });

  it('refuses a label that labels.csv does not hold before anything is decoded or written', async () => {
    const out = path.join(root, 'o3');
    await expect(train({ ...cfg, out, oversample: 'keratosis=2' })).rejects.toThrow(/^--oversample: no image has the label keratosis in .*labels\.csv \(its labels: k, n, v\); fix the spelling, e.g. --oversample k=2$/);
    expect(fs.existsSync(out)).toBe(false);
  });
});
