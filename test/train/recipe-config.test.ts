import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash } from 'crypto';
import { resolveSettings } from '../../src/train/recipe';
import { runSettings } from '../../src/cli/flags';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-config-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: unknown): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return f;
}

/** A run.json as run-folder.ts writes it. */
function runJson(name: string, over: Record<string, unknown> = {}): string {
  const settings = resolveSettings({ data: 'synthetic:40', model: 1, loss: 9, imageSize: 64, width: 0.125, epochs: 3, batchSize: 8, seed: 7, recipe: 'study', limit: 12 });
  return file(name, { version: 1, runId: 'UNet_x_s64_w0.125_seed7', settings: { ...settings, ...over }, createdAt: '2026-12-07T00:00:00.000Z', changes: [] });
}

describe('--config: a run\'s settings as a file', () => {
  it("takes a run folder's run.json as it is: the same settings come back", () => {
    const f = runJson('run.json');
    const saved = JSON.parse(fs.readFileSync(f, 'utf8')).settings;
    expect(resolveSettings({ config: f, data: undefined as unknown as string })).toEqual(saved);
  });

  it("a run.json whose epochs the recipe's rule chose gives the same run back, and the rule counts the --limit'ed images", () => {
    const settings = resolveSettings({ data: 'synthetic:400', imageSize: 64, width: 0.125, limit: 150 });
    expect(settings.epochsFrom).toEqual({ presentations: 9000, min: 20, max: 60, trainImages: 150 });
    expect(settings.epochs).toBe(60);
    const f = file('rule.json', { version: 1, runId: 'r', settings, createdAt: '2026-12-07T00:00:00.000Z', changes: [] });
    expect(resolveSettings({ config: f, data: undefined as unknown as string })).toEqual(settings);
    expect(resolveSettings({ config: f, data: undefined as unknown as string, limit: 300 }).epochs).toBe(30);
  });

  it('flags given on the command line win over the file; flags not given leave its values', () => {
    const f = runJson('run2.json');
    const s = resolveSettings({ ...runSettings({ seed: 1, epochs: undefined, device: 'cpu', 'new-dataframe': false, 'save-model': true, evaluate: false, workers: 1, quiet: true }), config: f });
    expect([s.seed, s.epochs, s.recipe, s.model, s.loss, s.imageSize, s.limit, s.lr]).toEqual([1, 3, 'study', 1, 9, 64, 12, 3e-4]);
  });

  it('a plain object of some settings: the recipe fills the rest', () => {
    const s = resolveSettings({ config: file('partial.json', { data: 'synthetic:20', model: 'UNet', epochs: 2 }), data: undefined as unknown as string });
    expect([s.model, s.epochs, s.recipe, s.loss]).toEqual([1, 2, 'melseg', 15]);
  });

  it('refuses an unknown key, naming the file, the key, the closest setting and the list', () => {
    const f = file('typo.json', { data: 'synthetic:20', epoch: 2 });
    expect(() => resolveSettings({ config: f, data: undefined as unknown as string })).toThrow(
      new RegExp(`^--config ${f}: unknown setting "epoch" \\(did you mean "epochs"\\?\\); the settings are recipe, model, loss, data, .*limit; expected a run's run.json`),
    );
    expect(() => resolveSettings({ config: runJson('extra.json', { colour: 'red' }), data: undefined as unknown as string })).toThrow('unknown setting "colour"');
    expect(() => resolveSettings({ config: file('top.json', { version: 1, settings: {}, note: 'x' }), data: 'synthetic' })).toThrow('unknown field "note" beside "settings"');
  });

  it('refuses a wrong type, a missing file, bad JSON and a non-object, each with the file', () => {
    expect(() => resolveSettings({ config: file('type.json', { epochs: '20' }), data: 'synthetic' })).toThrow('"epochs" is "20", expected a number (the value of --epochs)');
    expect(() => resolveSettings({ config: path.join(dir, 'nope.json'), data: 'synthetic' })).toThrow(`--config ${path.join(dir, 'nope.json')}: cannot read it (ENOENT)`);
    expect(() => resolveSettings({ config: file('bad.json', '{"epochs": '), data: 'synthetic' })).toThrow(/^--config .*bad\.json: not valid JSON/);
    expect(() => resolveSettings({ config: file('list.json', [1]), data: 'synthetic' })).toThrow('found an array, not an object');
  });

  it('a run.json split file that changed since the run is refused; the fractions of a seeded split carry over', () => {
    const split = file('split.json', { train: ['a'], valid: ['b'], test: [] });
    const sha = createHash('sha256').update(fs.readFileSync(split)).digest('hex');
    const f = runJson('split-run.json', { split: { file: split, sha256: sha } });
    expect(resolveSettings({ config: f, data: undefined as unknown as string }).split).toEqual({ file: split, sha256: sha });
    fs.appendFileSync(split, ' ');
    expect(() => resolveSettings({ config: f, data: undefined as unknown as string })).toThrow(/its split file .*split\.json has changed since that run/);
    const g = runJson('fractions.json', { split: { fractions: [0.5, 0.25, 0.25] } });
    expect(resolveSettings({ config: g, data: undefined as unknown as string }).split).toEqual({ fractions: [0.5, 0.25, 0.25] });
  });
});

describe('--limit', () => {
  it('is checked up front: a whole number of at least 1', () => {
    expect(() => resolveSettings({ data: 'synthetic', limit: 0 })).toThrow('--limit 0: expected a whole number from 1 to 1000000000');
    expect(() => resolveSettings({ data: 'synthetic', limit: 2.5 })).toThrow('--limit 2.5');
    expect(resolveSettings({ data: 'synthetic', limit: 5 }).limit).toBe(5);
    expect(resolveSettings({ data: 'synthetic' })).not.toHaveProperty('limit');
  });
});
