import * as fs from 'fs';
import * as path from 'path';
import { readRunSettings } from '../../../src/report/html';
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
    expect(readRunSettings(dir)).toEqual({ problem: expect.stringMatching(new RegExp(`^${path.join(dir, 'run.json')} is not valid JSON`)) });
    fs.writeFileSync(path.join(dir, 'run.json'), '{"settings": [1, 2]}');
    expect(readRunSettings(dir)).toEqual({ problem: `${path.join(dir, 'run.json')} has no "settings" object` });
  });
});
