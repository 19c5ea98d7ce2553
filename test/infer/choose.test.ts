import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chooseInferenceSettings, pickPreset } from '../../src/infer/choose';
import { loadCheckpoint } from '../../src/checkpoint/checkpoint';
import { PRESETS } from '../../src/infer/settings';
import { saveConstant, writeImage, writeMask } from './fixtures';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-infer-choose-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('the inference settings a checkpoint carries are chosen on its valid split', () => {
  it('picks the preset of the higher validation IoU, and raw on a tie', () => {
    expect(pickPreset({ raw: 0.7, best: 0.71 })).toBe('best');
    expect(pickPreset({ raw: 0.71, best: 0.7 })).toBe('raw');
    expect(pickPreset({ raw: 0.7, best: 0.7 })).toBe('raw');
  });

  it('measures every preset on the valid images only, and stores the choice in the checkpoint', async () => {
    const data = path.join(root, 'data');
    for (const id of ['v1', 'v2', 't1']) {
      writeImage(path.join(data, 'images', `${id}.png`), 40, 40);
      writeMask(path.join(data, 'masks', `${id}.png`), 40, 40, (x) => x < 20);
    }
    const run = path.join(root, 'run');
    fs.mkdirSync(run);
    fs.writeFileSync(path.join(run, 'split.json'), JSON.stringify({ train: [], valid: ['v1', 'v2'], test: ['t1'] }));
    const ck = saveConstant(path.join(run, 'best.ckpt'), 0.9, { dataset: data });
    const c = await chooseInferenceSettings(ck, { cacheDir: null, graphsDir: path.join(root, 'graphs') });
    // everything is lesion whatever the preset: IoU 0.5 both, so raw
    expect(c).toEqual({ preset: 'raw', images: 2, iou: { raw: 0.5, best: 0.5 } });
    const meta = loadCheckpoint(ck).meta;
    expect(meta.inference).toEqual(PRESETS.raw);
    expect(meta.inferenceChosenOn).toEqual({ split: 'valid', images: 2, preset: 'raw', iou: { raw: 0.5, best: 0.5 } });
  });

  it('says which split file is missing instead of guessing', async () => {
    const ck = saveConstant(path.join(root, 'lonely', 'best.ckpt'), 0.9, { dataset: path.join(root, 'data') });
    await expect(chooseInferenceSettings(ck, { cacheDir: null, graphsDir: path.join(root, 'graphs') })).rejects.toThrow(/no split file .*split\.json for choosing the inference settings on the valid split/);
  });
});
