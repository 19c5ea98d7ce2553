import * as fs from 'fs';
import * as path from 'path';
import { readRunSettings } from '../../../src/report/html';
import { runFolderIn } from '../../../src/report/html/run-settings';
import { gridsFor, settingsFor } from '../../../src/sweep/report';
import { row } from '../helpers';
import { tempDir } from '../helpers';

let dir: string;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('readRunSettings', () => {
  test('reads the flat settings object, values as text (strings unquoted)', () => {
    fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify({ model: 'x', settings: { data: 'ph2', epochs: 20, nchwc: false, lr: 3e-4, split: [0.75, 0.25], note: null } }));
    expect(readRunSettings(dir)).toEqual({ settings: { data: 'ph2', epochs: '20', nchwc: 'false', lr: '0.0003', split: '[0.75,0.25]', note: 'null' } });
  });

  test('a run without run.json gives null; a broken or foreign one says what is wrong, naming the file', () => {
    expect(readRunSettings(dir)).toBeNull();
    fs.writeFileSync(path.join(dir, 'run.json'), '{"settings": ');
    expect(readRunSettings(dir)).toEqual({ problem: expect.stringMatching(new RegExp(`^${path.join(dir, 'run.json')}: not valid JSON`)) });
    fs.writeFileSync(path.join(dir, 'run.json'), '{"settings": [1, 2]}');
    expect(readRunSettings(dir)).toEqual({ problem: `${path.join(dir, 'run.json')} has no "settings" object` });
  });
});

describe('a results row\'s run id stays inside --artifacts', () => {
  test('runFolderIn refuses "..", separators and symlinks that leave the folder', () => {
    const artifacts = path.join(dir, 'artifacts');
    fs.mkdirSync(path.join(artifacts, 'good'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'secret'));
    fs.symlinkSync(path.join(dir, 'secret'), path.join(artifacts, 'link'));
    expect(runFolderIn(artifacts, 'good')).toBe(path.join(artifacts, 'good'));
    for (const run of ['..', '.', '', '../secret', 'good/../../secret', 'a\\b', 'link']) expect(runFolderIn(artifacts, run)).toBeUndefined();
  });

  test('chart embeds no grid and reads no run.json named by ../ in the run column', () => {
    const artifacts = path.join(dir, 'artifacts');
    fs.mkdirSync(artifacts);
    fs.mkdirSync(path.join(dir, 'secret'));
    fs.writeFileSync(path.join(dir, 'secret', 'predictions_best.png'), 'not for the report');
    fs.writeFileSync(path.join(dir, 'secret', 'run.json'), JSON.stringify({ settings: { token: 'x' } }));
    const rows = [row({ run: '../secret' })];
    expect(gridsFor(rows, [artifacts])).toEqual({});
    expect(settingsFor(rows, [artifacts])).toEqual({ '../secret': null });
  });

  test('a run.json nested 500k levels deep is reported as a problem, not a RangeError', () => {
    fs.writeFileSync(path.join(dir, 'run.json'), '{"settings":{"a":' + '['.repeat(500_000) + ']'.repeat(500_000) + '}}');
    expect(readRunSettings(dir)).toEqual({ problem: expect.stringContaining('nested more than 64 levels deep') });
  });
});
