/**
 * `melseg import` end to end: files torch.save wrote are refused with conversion commands that work
 * exactly as printed (run here through bash with Debian's python3-torch first on PATH), the converted
 * file imports, and evaluate and predict read the result. A mismatch prints every tensor, no stack trace.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PNG } from 'pngjs';
import { melseg } from '../helpers/cli';

const PY = '/usr/bin/python3';
const SCRIPTS = path.join(__dirname, '..', '..', 'scripts');
const ROOT = path.join(__dirname, '..', '..');
/** Debian's python3 (with torch) before anything else named python3 on PATH (pyenv shims, venvs). */
const ENV = { ...process.env, PATH: `/usr/bin:${process.env.PATH}`, OMP_NUM_THREADS: '1' };

const probe = spawnSync(PY, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
if (probe.status !== 0) throw new Error(`${PY} cannot import torch and numpy (${probe.stderr.trim().split('\n').pop()}): run bash scripts/setup.sh (python3-torch)`);

/** The lines from `python3 - ...<<'EOF'` to `EOF`: the plain-torch converter as printed. */
function heredoc(stderr: string): string {
  const lines = stderr.split('\n');
  const start = lines.findIndex((l) => l.startsWith('python3 - '));
  const end = lines.indexOf('EOF', start);
  expect(start).toBeGreaterThan(0);
  expect(end).toBeGreaterThan(start);
  return lines.slice(start, end + 1).join('\n') + '\n';
}

/** The `then:` line, run with this checkout's bin/run.js for `melseg`. */
function thenCommand(stderr: string): string[] {
  const line = stderr.split('\n').find((l) => l.startsWith('then: melseg import '));
  expect(line).toBeDefined();
  // Let the shell split the printed words (it is meant for one), then drop `melseg`.
  const words = spawnSync('bash', ['-c', `set -- ${line!.slice('then: melseg '.length)}; for a in "$@"; do printf '%s\\0' "$a"; done`], { encoding: 'utf8' });
  return words.stdout.split('\0').slice(0, -1);
}

describe('melseg import', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg import-cli-')); // a space: the printed commands must quote
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const x = path.join(dir, 'x.f32');
  fs.writeFileSync(x, new Float32Array(3 * 32 * 32));
  const torchDir = path.join(dir, 'torch');
  beforeAll(() => {
    const r = spawnSync(PY, [path.join(SCRIPTS, 'pytorch_interop_check.py'), 'torch-weights', '2', '4', '32', '1', x, '1', torchDir], { encoding: 'utf8', env: { ...ENV, PYTHONPATH: SCRIPTS } });
    if (r.status !== 0) throw new Error(r.stderr);
  });

  test.each([
    ['weights.pth', 'a PyTorch zip checkpoint'],
    ['legacy.pth', 'a Python pickle (protocol 2'],
  ])("%s (torch.save) is refused with a converter that works as printed; the converted file imports and predict reads it", (name, what) => {
    const pth = path.join(torchDir, name);
    const out = path.join(dir, `${name}.ckpt`);
    const r = melseg(['import', '--state-dict', pth, '--model', '2', '--image-size', '32', '--out', out], { env: ENV });
    expect(r.status).toBe(1);
    expect(r.stderr.startsWith(`Error: ${pth} is ${what}`)).toBe(true);
    expect(r.stderr).toContain('melseg never unpickles files');
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/); // no stack trace (the converter has a line "at += ...")
    expect(fs.existsSync(out)).toBe(false);

    const converted = pth.replace(/\.pth$/, '.safetensors');
    fs.rmSync(converted, { force: true });
    const conv = spawnSync('bash', ['-c', heredoc(r.stderr)], { encoding: 'utf8', env: ENV, cwd: dir });
    expect(conv.stderr).toBe('');
    expect(conv.status).toBe(0);
    // The same bytes as the tested writer in scripts/pytorch_interop.py gave for the same state_dict.
    expect(fs.readFileSync(converted).equals(fs.readFileSync(path.join(torchDir, 'weights.safetensors')))).toBe(true);

    const again = melseg(thenCommand(r.stderr), { env: ENV });
    expect(again.stderr).toBe('');
    expect(again.status).toBe(0);
    expect(again.stdout).toContain(`wrote ${out}: UNet_stride (model 2), width 0.0625, image size 32`);

    const img = new PNG({ width: 40, height: 30 });
    img.data.fill(200);
    const file = path.join(dir, `${name}.png`);
    fs.writeFileSync(file, PNG.sync.write(img));
    const p = melseg(['predict', '--checkpoint', out, file, '--out', path.join(dir, 'pred')]);
    expect(p.stderr).toBe('');
    expect(p.status).toBe(0);
  });

  test('for a UNet_dilate .pth given without --image-size, the printed then: command imports as printed (it names --image-size and says to check it)', () => {
    const dilateDir = path.join(dir, 'dilate');
    const w = spawnSync(PY, [path.join(SCRIPTS, 'pytorch_interop_check.py'), 'torch-weights', '3', '4', '32', '1', x, '1', dilateDir], { encoding: 'utf8', env: { ...ENV, PYTHONPATH: SCRIPTS } });
    if (w.status !== 0) throw new Error(w.stderr);
    const pth = path.join(dilateDir, 'weights.pth');
    const out = path.join(dir, 'dilate.ckpt');
    const r = melseg(['import', '--state-dict', pth, '--out', out], { env: ENV });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^then: melseg import .* --image-size 256 .*\n\(--image-size: the side the weights were trained at; 256 is the study's/m);
    const conv = spawnSync('bash', ['-c', heredoc(r.stderr)], { encoding: 'utf8', env: ENV, cwd: dir });
    expect(conv.status).toBe(0);
    const again = melseg(thenCommand(r.stderr), { env: ENV });
    expect(again.stderr).toBe('');
    expect(again.status).toBe(0);
    expect(again.stdout).toContain(`wrote ${out}: UNet_dilate (model 3)`);
  });

  test("the safetensors-package one-liner runs as printed (against a stand-in save_file: the package is not installed here)", () => {
    const pth = path.join(torchDir, 'weights.pth');
    const r = melseg(['import', '--state-dict', pth, '--out', path.join(dir, 'unused.ckpt')], { env: ENV });
    const line = r.stderr.split('\n').find((l) => l.startsWith('  python3 -c '));
    expect(line).toBeDefined();
    // safetensors.torch.save_file(tensors, path) -> the same file format, from the tested writer.
    const stub = path.join(dir, 'stub', 'safetensors');
    fs.mkdirSync(stub, { recursive: true });
    fs.writeFileSync(path.join(stub, '__init__.py'), '');
    fs.writeFileSync(path.join(stub, 'torch.py'), 'from pytorch_interop import save_safetensors as save_file\n');
    const converted = pth.replace(/\.pth$/, '.safetensors');
    fs.rmSync(converted, { force: true });
    const run = spawnSync('bash', ['-c', line!.trim()], { encoding: 'utf8', env: { ...ENV, PYTHONPATH: `${path.dirname(stub)}:${SCRIPTS}` } });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(fs.readFileSync(converted).equals(fs.readFileSync(path.join(torchDir, 'weights.safetensors')))).toBe(true);
  });

  test('scripts/pytorch_interop.py to-safetensors converts as the printed heredoc does', () => {
    const out = path.join(dir, 'script.safetensors');
    const r = spawnSync(PY, [path.join(SCRIPTS, 'pytorch_interop.py'), 'to-safetensors', path.join(torchDir, 'legacy.pth'), out], { encoding: 'utf8', env: ENV });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(fs.readFileSync(out).equals(fs.readFileSync(path.join(torchDir, 'weights.safetensors')))).toBe(true);
  });

  test('a mismatch lists every tensor without a stack trace; evaluate reads an imported checkpoint; --out is not overwritten', () => {
    const st = path.join(torchDir, 'weights.safetensors');
    const bad = melseg(['import', '--state-dict', st, '--model', 'UNet', '--width', '0.0625', '--out', path.join(dir, 'bad.ckpt')]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/does not fit UNet \(model 1\) at width 0\.0625: 24 problems/);
    expect(bad.stderr.match(/unexpected {2}pool\.\d\.(weight|bias)/g)).toHaveLength(8);
    expect(bad.stderr).toContain('missing     bottle.conv.weight');
    expect(bad.stderr).toContain('run it again with --model 2 --width 0.0625.');
    expect(bad.stderr).not.toMatch(/\n\s+at /);

    const out = path.join(dir, 'stride.ckpt');
    const ok = melseg(['import', '--state-dict', st, '--image-size', '32', '--loss', 'dice_loss', '--out', out]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toBe(
      'note: network UNet_stride (model 2) at width 0.0625, recognised from the tensors\n' +
        `wrote ${out}: UNet_stride (model 2), width 0.0625, image size 32, loss dice_loss; 144 tensors, no optimizer state\n` +
        `next: melseg predict --checkpoint '${out}' IMAGE... --out predictions/   or   melseg evaluate --checkpoint '${out}' --data DATASET --split all\n`,
    );
    const before = fs.readFileSync(out);
    const again = melseg(['import', '--state-dict', st, '--image-size', '32', '--out', out]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain(`--out ${out} already exists; add --force to replace it, or choose another --out`);
    expect(fs.readFileSync(out).equals(before)).toBe(true);

    // an imported checkpoint has no run folder: its per-image CSV goes to the current folder
    const ev = melseg(['evaluate', '--checkpoint', out, '--data', 'synthetic:6', '--split', 'all'], { cwd: dir });
    expect(ev.stderr).toBe('');
    expect(ev.status).toBe(0);
    expect(ev.stdout).toMatch(/UNet_stride x dice_loss on 6 all images of synthetic:6/);
    expect(fs.existsSync(path.join(dir, 'eval_all.csv'))).toBe(true);
  });
});
