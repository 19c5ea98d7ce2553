import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { train } from '../../src/train/trainer';
import { RunLog } from '../../src/train/run-log';
import { limitTrain } from '../../src/train/bounds';
import { loadCheckpoint } from '../../src/checkpoint/checkpoint';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-runlog-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('RunLog', () => {
  it('prints every line, keeps the lines before the folder opens, then appends each as a whole line', () => {
    const seen: string[] = [];
    const log = new RunLog((l) => seen.push(l));
    log.line('note: before the folder');
    const dir = fs.mkdtempSync(path.join(root, 'unit-'));
    log.open(dir, 'melseg train, run r');
    log.line('epoch 1/2: ...');
    expect(seen).toEqual(['note: before the folder', 'epoch 1/2: ...']);
    const lines = fs.readFileSync(path.join(dir, 'train.log'), 'utf8').split('\n');
    expect(lines[0]).toMatch(/^=== \d{4}-\d\d-\d\dT.* melseg train, run r$/);
    expect(lines.slice(1)).toEqual(['note: before the folder', 'epoch 1/2: ...', '']);
  });

  it('a log that cannot be written is said once and never stops the run', () => {
    const seen: string[] = [];
    const log = new RunLog((l) => seen.push(l));
    log.open(path.join(root, 'no-such-folder'), 'x');
    log.line('epoch 1/1');
    log.line('epoch 2/2');
    expect(seen.filter((l) => l.startsWith('warning:'))).toHaveLength(1);
    expect(seen[0]).toMatch(/^warning: could not write .*train\.log \(ENOENT.*training goes on without train\.log$/);
    expect(seen.slice(1)).toEqual(['epoch 1/1', 'epoch 2/2']);
  });
});

describe('limitTrain', () => {
  it('the first N ids of the train split, all of them when N is not smaller, saying which', () => {
    const notes: string[] = [];
    expect(limitTrain(['a', 'b', 'c'], 2, (l) => notes.push(l))).toEqual(['a', 'b']);
    expect(limitTrain(['a', 'b', 'c'], 5, (l) => notes.push(l))).toEqual(['a', 'b', 'c']);
    expect(limitTrain(['a', 'b'], undefined)).toEqual(['a', 'b']);
    expect(notes).toEqual([
      'limit: training on the first 2 of the 3 training images (--limit 2); the valid split stays whole',
      'note: --limit 5 is not fewer than the 3 training images: training on all of them',
    ]);
  });
});

describe('a training run', () => {
  const cfg = { model: 1, loss: 9, data: 'synthetic:20', epochs: 2, batchSize: 2, imageSize: 32, width: 1 / 16, seed: 3, cacheDir: null, progress: false, graphsDir: path.join(root, 'graphs') } as const;

  it('with --limit 4 trains on 4 images; train.log holds the lines the user saw, and a resume appends to it', async () => {
    const out = path.join(root, 'a');
    const seen: string[] = [];
    const first = await train({ ...cfg, limit: 4, out, stopAfterEpochs: 1, log: (l) => seen.push(l) });
    const logFile = path.join(path.dirname(first.lastCheckpoint), 'train.log');
    const afterStop = fs.readFileSync(logFile, 'utf8');
    const r = await train({ ...cfg, limit: 4, out, resume: true, log: (l) => seen.push(l) });
    // 4 images in batches of 2: 2 steps an epoch
    expect(loadCheckpoint(r.lastCheckpoint).optimizer!.step).toBe(4);
    const text = fs.readFileSync(logFile, 'utf8');
    expect(text.startsWith(afterStop)).toBe(true);
    const lines = text.split('\n');
    expect(lines.pop()).toBe('');
    const headers = lines.filter((l) => l.startsWith('=== '));
    expect(headers).toHaveLength(2);
    expect(headers[1]).toMatch(/run .* \(resumed\)$/);
    expect(lines.filter((l) => !l.startsWith('=== '))).toEqual(seen);
    expect(seen).toContainEqual(expect.stringMatching(/^recipe melseg: UNet x .*, first 4 training images$/));
    expect(seen.filter((l) => /^epoch \d\/2: train loss/.test(l))).toHaveLength(2);
    expect(seen).toContain('limit: training on the first 4 of the 15 training images (--limit 4); the valid split stays whole');
  });

  it('--config with that run\'s run.json re-runs it with the same settings; a flag given wins', async () => {
    const runJson = path.join(root, 'a', 'artifacts', fs.readdirSync(path.join(root, 'a', 'artifacts'))[0], 'run.json');
    const saved = JSON.parse(fs.readFileSync(runJson, 'utf8')).settings;
    const r = await train({ config: runJson, data: undefined as unknown as string, epochs: 1, out: path.join(root, 'b'), cacheDir: null, progress: false, graphsDir: cfg.graphsDir, log: () => undefined });
    const again = JSON.parse(fs.readFileSync(path.join(path.dirname(r.lastCheckpoint), 'run.json'), 'utf8')).settings;
    expect(again).toEqual({ ...saved, epochs: 1 });
  });
});
