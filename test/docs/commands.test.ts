import { spawnSync } from 'child_process';
import * as path from 'path';
import { ensureBuilt } from '../helpers/cli';

test('docs/commands.md is what the commands say (regenerate with npm run docs:commands)', () => {
  ensureBuilt();
  const r = spawnSync(process.execPath, [path.join(__dirname, '..', '..', 'scripts', 'command-docs.js'), '--check'], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
});
