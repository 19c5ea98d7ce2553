/**
 * The model that ships in the repo (models/isic2017.safetensors, README "The model that ships"): it is
 * there, small enough, finite, says what it is, and `predict` without --checkpoint segments with it.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { decodeImage, generateSynthetic } from '../../src/data';
import { resolveCheckpoint, SHIPPED_MODEL } from '../../src/infer/model';
import { predictImages } from '../../src/infer/predict';
import { inferenceSettingsProblem } from '../../src/checkpoint/inference';
import { firstNonFinite, loadCheckpoint } from '../../src/checkpoint/checkpoint';
import { pngBytes } from './fixtures';

const file = path.join(__dirname, '..', '..', SHIPPED_MODEL);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-shipped-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('the model that ships', () => {
  it('is in the repo, under 40 MB, finite, without optimizer state, and names its network, inference settings, data and licence', () => {
    expect(fs.statSync(file).size).toBeLessThan(40 * 1024 * 1024);
    const ck = loadCheckpoint(file);
    expect(firstNonFinite(ck)).toBeNull();
    expect(ck.optimizer).toBeUndefined();
    expect(ck.meta.model).toBe(4);
    expect(ck.meta.inference).toBeDefined();
    expect(inferenceSettingsProblem(ck.meta.inference)).toBeNull();
    expect(String(ck.meta.trainedOn)).toMatch(/ISIC 2017/);
    expect(String(ck.meta.license)).toMatch(/CC0 1\.0/);
  });

  it('is what predict uses without --checkpoint, and finds lesion-like blobs in images of another size', async () => {
    expect(resolveCheckpoint(undefined)).toBe(path.resolve(file));
    const n = 3;
    const S = 200; // not the network size: masks come back at the input size
    const { images, masks } = generateSynthetic(n, S);
    const inputs: string[] = [];
    for (let i = 0; i < n; i++) {
      inputs.push(path.join(root, 'in', `lesion${i}.png`));
      fs.mkdirSync(path.dirname(inputs[i]), { recursive: true });
      fs.writeFileSync(inputs[i], pngBytes(images.subarray(i * S * S * 3, (i + 1) * S * S * 3), S, S, 3));
    }
    const r = await predictImages({ inputs, out: path.join(root, 'out'), graphsDir: path.join(root, 'graphs'), cacheDir: null });
    const ious: number[] = [];
    for (let i = 0; i < n; i++) {
      const m = await decodeImage(r.predictions[i].mask);
      expect([m.width, m.height]).toEqual([S, S]);
      let inter = 0;
      let union = 0;
      for (let k = 0; k < S * S; k++) {
        const p = m.data[k * m.channels] > 127;
        const t = masks[i * S * S + k] > 0;
        inter += Number(p && t);
        union += Number(p || t);
      }
      ious.push(inter / union);
    }
    // synthetic lesions are not dermoscopy photographs: a loose bound that an untrained or broken model fails
    expect(Math.min(...ious)).toBeGreaterThan(0.5);
  });
});
