/**
 * melseg predict as a user runs it: a line per image as it is done (also into a pipe), file names
 * safe for the terminal, and one bad image that does not stop the others but makes the exit non-zero.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { melsegAsync } from '../helpers/cli';
import { saveConstant, writeImage } from '../infer/fixtures';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-predict-cli-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

test('prints each image as it is done, escapes control characters, lists failures and exits 1', async () => {
  const ck = saveConstant(path.join(root, 'sure.ckpt'), 0.9);
  const dir = path.join(root, 'photos');
  writeImage(path.join(dir, 'a\x1b[31mred.png'), 16, 16);
  fs.writeFileSync(path.join(dir, 'b-broken.png'), 'not a png');
  writeImage(path.join(dir, 'c-big.png'), 2500, 2500); // seconds of work after a's line
  const out = path.join(root, 'out');
  const child = melsegAsync(['predict', '--checkpoint', ck, dir, '--out', out]);
  let stdout = '';
  let stderr = '';
  let bigDoneAtFirstLine: boolean | null = null;
  child.stdout!.on('data', (d) => {
    stdout += d;
    if (bigDoneAtFirstLine === null && stdout.includes(' -> ')) bigDoneAtFirstLine = fs.existsSync(path.join(out, 'c-big_overlay.png'));
  });
  child.stderr!.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  expect(bigDoneAtFirstLine).toBe(false); // a's line came out while c was still to do
  expect(code).toBe(1);
  expect(stdout + stderr).not.toContain('\x1b');
  expect(stdout).toContain(`${path.join(dir, 'a\\x1b[31mred.png')} -> ${path.join(out, 'a\\x1b[31mred_mask.png')}`);
  expect(stdout).toContain(`${path.join(dir, 'c-big.png')} -> `);
  expect(stderr).toContain('1 of 3 image(s) could not be segmented (the other 2 were):');
  expect(stderr).toMatch(/b-broken\.png: Cannot decode image .*b-broken\.png/);
  expect(stderr).not.toMatch(/\n\s+at /);
  expect(fs.readdirSync(out).sort()).toEqual(['a\x1b[31mred_mask.png', 'a\x1b[31mred_overlay.png', 'c-big_mask.png', 'c-big_overlay.png']);
}, 300000); // the first CLI test of a run may compile dist/ first
