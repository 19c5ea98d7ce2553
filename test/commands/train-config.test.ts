import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { melseg } from '../helpers/cli';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-cli-config-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('melseg train --config and --limit (compiled CLI)', () => {
  test('a config file with an unknown key: exit 1, one line naming the file, the key and the closest setting, before any work', () => {
    const f = path.join(dir, 'typo.json');
    fs.writeFileSync(f, JSON.stringify({ data: 'synthetic:20', epoch: 2 }));
    const r = melseg(['train', '--config', f]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`--config ${f}: unknown setting "epoch" (did you mean "epochs"?)`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test('--config alone stands in for --data; --limit 0 is refused up front', () => {
    const f = path.join(dir, 'no-data.json');
    fs.writeFileSync(f, JSON.stringify({ epochs: 2 }));
    expect(melseg(['train', '--config', f]).stderr).toMatch(/--data is required/);
    const r = melseg(['train', '--data', 'synthetic:20', '--limit', '0', '--out', dir]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('--limit 0: expected a whole number from 1 to 1000000000');
    expect(fs.readdirSync(dir).sort()).toEqual(['no-data.json', 'typo.json']);
  });
});
