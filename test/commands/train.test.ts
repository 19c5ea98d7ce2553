import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readResults } from '../../src/report/results';
import { loadCheckpoint } from '../../src/train/checkpoint';
import { melseg, melsegAsync } from '../helpers/cli';

const CFG = ['--model', '2', '--loss', '9', '--data', 'synthetic:48', '--epochs', '3', '--batch-size', '2', '--image-size', '32', '--width', '0.0625', '--seed', '7', '--quiet'];

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-cli-'));
}

describe('melseg train (compiled CLI)', () => {
  test('--resume after kill -9 mid-run reproduces an uninterrupted run', async () => {
    const a = tmp();
    const whole = melseg(['train', ...CFG, '--out', a]);
    expect(whole.stderr).not.toMatch(/Error/);
    expect(whole.status).toBe(0);

    const b = tmp();
    const child = melsegAsync(['train', ...CFG, '--out', b]);
    const csv = path.join(b, 'results.csv');
    // wait for the first epoch's row, then kill somewhere inside the second epoch
    await new Promise<void>((resolve, reject) => {
      const t0 = Date.now();
      const poll = setInterval(() => {
        if (fs.existsSync(csv) && readResults(csv).length >= 1) {
          clearInterval(poll);
          setTimeout(() => {
            child.kill('SIGKILL');
            resolve();
          }, 150);
        } else if (Date.now() - t0 > 60000) {
          clearInterval(poll);
          reject(new Error('the first epoch never finished'));
        }
      }, 20);
    });
    await new Promise((r) => child.on('exit', r));
    expect(readResults(csv).length).toBeLessThan(3);

    const resumed = melseg(['train', ...CFG, '--out', b, '--resume']);
    expect(resumed.status).toBe(0);
    expect(resumed.stdout).toMatch(/resuming .* after epoch \d/);
    const run = 'UNet_stride_tversky_loss_alpha_0.50_s32_w0.0625_seed7';
    const wa = loadCheckpoint(path.join(a, 'artifacts', run, 'last.ckpt'));
    const wb = loadCheckpoint(path.join(b, 'artifacts', run, 'last.ckpt'));
    for (const k of Object.keys(wa.params)) expect(Array.from(wb.params[k].data as Float32Array)).toEqual(Array.from(wa.params[k].data as Float32Array));
    const strip = (rows: ReturnType<typeof readResults>) => rows.map(({ seconds, images_per_s, ...rest }) => rest);
    expect(strip(readResults(csv))).toEqual(strip(readResults(path.join(a, 'results.csv'))));
  });

  test('without --data it says what it expects and where to get it', () => {
    const r = melseg(['train', '--model', '1', '--loss', '9']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--data is required/);
    expect(r.stderr).toMatch(/PH2/);
    expect(r.stderr).toMatch(/synthetic/);
  });

  test('an unknown model number lists the table', () => {
    const r = melseg(['train', '--model', '9', '--loss', '9', '--data', 'synthetic:8']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/unknown model '9'/);
    expect(r.stderr).toMatch(/3 {2}UNet_dilate/);
  });

  test('a missing dataset path names it and the expected layouts', () => {
    const r = melseg(['train', '--model', '1', '--loss', '9', '--data', '/nonexistent/ph2', '--image-size', '32', '--width', '0.0625']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/\/nonexistent\/ph2/);
  });

  // Meaningful only where the CUDA provider is not installed (as on CI): there it must fail clearly.
  const cudaInstalled = fs.existsSync(path.join(__dirname, '..', '..', 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64', 'libonnxruntime_providers_cuda.so'));
  (cudaInstalled ? test.skip : test)('--device cuda without the CUDA provider says how to install it', () => {
    const r = melseg(['train', '--model', '1', '--loss', '9', '--data', 'synthetic:8', '--epochs', '1', '--image-size', '32', '--width', '0.0625', '--device', 'cuda', '--out', tmp(), '--quiet']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12/);
  });
});
