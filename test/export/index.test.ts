/**
 * export never replaces what the user did not name: the checkpoint it reads, an existing --out
 * without --force, an earlier page in --web without --force; and a page folder is whole or absent.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { exportCheckpoint } from '../../src/export';
import { saveRandom } from './fixtures';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-export-writes-'));
const pageRoot = path.join(root, 'page-build');
const ckpt = saveRandom(path.join(root, 'run', 'best.ckpt'), 1);
const ckptBytes = fs.readFileSync(ckpt);

beforeAll(() => {
  execFileSync(process.execPath, [path.join(__dirname, '..', '..', 'web', 'build.js'), pageRoot]);
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('export --out', () => {
  test('refuses the checkpoint itself, even with --force, and leaves it intact', async () => {
    for (const force of [false, true]) {
      await expect(exportCheckpoint({ checkpoint: ckpt, out: ckpt, force })).rejects.toThrow(
        `--out ${ckpt} is the --checkpoint file itself; write the ONNX file beside it, e.g. --out ${ckpt.replace(/\.ckpt$/, '.onnx')}`,
      );
    }
    const link = path.join(root, 'link.ckpt');
    fs.linkSync(ckpt, link); // the same file under another name
    await expect(exportCheckpoint({ checkpoint: ckpt, out: link, force: true })).rejects.toThrow('is the --checkpoint file itself');
    expect(fs.readFileSync(ckpt).equals(ckptBytes)).toBe(true);
  });

  test('replaces an existing file only with --force', async () => {
    const out = path.join(root, 'model.onnx');
    fs.writeFileSync(out, 'mine');
    await expect(exportCheckpoint({ checkpoint: ckpt, out })).rejects.toThrow(`--out ${out} already exists; add --force to replace it, or choose another --out`);
    expect(fs.readFileSync(out, 'utf8')).toBe('mine');
    await exportCheckpoint({ checkpoint: ckpt, out, force: true });
    expect(fs.statSync(out).size).toBeGreaterThan(1000);
  });
});

describe('export --web', () => {
  test('an earlier page is replaced only with --force, and the folder\'s other files are kept', async () => {
    const web = path.join(root, 'site');
    fs.mkdirSync(web);
    fs.writeFileSync(path.join(web, 'lesion.jpg'), 'an image of the user');
    await exportCheckpoint({ checkpoint: ckpt, web, pageRoot }); // a folder without a page: fine
    const html = path.join(web, 'index.html');
    fs.writeFileSync(html, 'edited by the user');
    await expect(exportCheckpoint({ checkpoint: ckpt, web, pageRoot })).rejects.toThrow(
      `--web ${web} already holds a page (index.html, melseg-page.js, model.onnx, ...); add --force to replace its files (your other files there are kept), or choose another --web`,
    );
    expect(fs.readFileSync(html, 'utf8')).toBe('edited by the user');
    await exportCheckpoint({ checkpoint: ckpt, web, pageRoot, force: true });
    expect(fs.readFileSync(html, 'utf8')).not.toBe('edited by the user');
    expect(fs.readFileSync(path.join(web, 'lesion.jpg'), 'utf8')).toBe('an image of the user');
    expect(fs.readdirSync(root).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  test('a write that fails midway leaves no half page: the folder is absent, nothing is left beside it', async () => {
    const broken = path.join(root, 'broken-build');
    fs.mkdirSync(broken);
    fs.copyFileSync(path.join(pageRoot, 'index.html'), path.join(broken, 'index.html'));
    fs.mkdirSync(path.join(broken, 'melseg-page.js')); // reading it fails after index.html is copied
    const web = path.join(root, 'half');
    await expect(exportCheckpoint({ checkpoint: ckpt, web, pageRoot: broken })).rejects.toThrow(/could not read .*melseg-page\.js to copy it to .*\(EISDIR: /);
    expect(fs.existsSync(web)).toBe(false);
    expect(fs.readdirSync(root).filter((n) => n.includes('half'))).toEqual([]);
  });
});
