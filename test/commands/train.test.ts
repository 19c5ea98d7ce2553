import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readResults } from '../../src/report';
import { loadCheckpoint } from '../../src/checkpoint/checkpoint';
import { failingWriteEnv, signalAtEnv } from '../helpers/full-disk';
import { melseg, melsegAsync } from '../helpers/cli';

const CFG = ['--model', '2', '--loss', '9', '--data', 'synthetic:48', '--epochs', '4', '--batch-size', '2', '--image-size', '32', '--width', '0.0625', '--seed', '7', '--quiet'];
const RUN = 'UNet_stride_tversky_loss_alpha_0.50_s32_w0.0625_seed7';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-cli-'));
}

const weights = (dir: string) => Object.entries(loadCheckpoint(path.join(dir, 'artifacts', RUN, 'last.ckpt')).params).map(([k, t]) => [k, Array.from(t.data as Float32Array)]);
const rows = (dir: string) => readResults(path.join(dir, 'results.csv')).map(({ seconds, images_per_s, ...rest }) => rest);

/** A run that receives `signal` while it writes its 2nd last.ckpt (the end of epoch 2): its exit and output. */
async function interrupt(out: string, signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }> {
  const child = melsegAsync(['train', ...CFG, '--out', out], signalAtEnv(`${RUN}/.last.ckpt.`, 2, signal));
  let stdout = '';
  child.stdout!.on('data', (d) => (stdout += d));
  return new Promise((resolve) => child.on('exit', (code, sig) => resolve({ code, signal: sig, stdout })));
}

describe('melseg train (compiled CLI)', () => {
  const whole = tmp();
  beforeAll(() => {
    const r = melseg(['train', ...CFG, '--out', whole]);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
  });

  test('kill -9 mid-run, then --resume: the weights and rows of an uninterrupted run', async () => {
    const b = tmp();
    const killed = await interrupt(b, 'SIGKILL');
    expect(killed.signal).toBe('SIGKILL');
    // killed in the middle of writing epoch 2's last.ckpt: epoch 1's is intact
    expect((loadCheckpoint(path.join(b, 'artifacts', RUN, 'last.ckpt')).trainerState as { epoch: number }).epoch).toBe(1);
    expect(readResults(path.join(b, 'results.csv')).map((x) => x.epoch)).toEqual([1]);
    // the dead process's lock does not block the resume
    const resumed = melseg(['train', ...CFG, '--out', b, '--resume']);
    expect(resumed.status).toBe(0);
    expect(resumed.stdout).toMatch(/resuming .* after epoch \d/);
    expect(weights(b)).toEqual(weights(whole));
    expect(rows(b)).toEqual(rows(whole));
  });

  test('Ctrl-C stops after the current batch, saves there, says what was kept and the command that resumes', async () => {
    const b = tmp();
    const { code, stdout } = await interrupt(b, 'SIGINT');
    expect(code).toBe(130);
    // the signal arrives as epoch 2 ends: the run stops before the first batch of epoch 3
    expect(stdout).toMatch(/stopped by SIGINT in epoch 3 before batch 1 of 18; saved the run there in .*last\.ckpt\. Kept: .*best\.ckpt/);
    const resume = /resume with: (.*)$/m.exec(stdout)![1];
    expect(resume).toBe(`melseg train ${CFG.join(' ')} --out ${b} --resume`);
    const resumed = melseg(resume.split(' ').slice(1));
    expect(resumed.status).toBe(0);
    expect(resumed.stdout).toMatch(/resuming .* in epoch 3, before batch 1 from/);
    expect(weights(b)).toEqual(weights(whole));
    expect(rows(b)).toEqual(rows(whole));
  });

  test('SIGTERM stops the same way with exit 143', async () => {
    const { code, stdout } = await interrupt(tmp(), 'SIGTERM');
    expect(code).toBe(143);
    expect(stdout).toMatch(/stopped by SIGTERM in epoch/);
  });

  test('a disk that fills up while last.ckpt is written: exit 1, the previous last.ckpt intact, no temp file, and --resume finishes', () => {
    const b = tmp();
    // the 2nd last.ckpt (epoch 2) gets a short write, then ENOSPC
    const r = melseg(['train', ...CFG, '--out', b], failingWriteEnv(`${RUN}/.last.ckpt.`, 2));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/could not write .*last\.ckpt \(ENOSPC: .*the disk is full.*untouched/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const dir = path.join(b, 'artifacts', RUN);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect((loadCheckpoint(path.join(dir, 'last.ckpt')).trainerState as { epoch: number }).epoch).toBe(1);
    expect(readResults(path.join(b, 'results.csv')).map((x) => x.epoch)).toEqual([1]);
    expect(melseg(['train', ...CFG, '--out', b, '--resume']).status).toBe(0);
    expect(weights(b)).toEqual(weights(whole));
  });

  test("the study's spellings: --batch_size, --evaluate 1, --new_dataframe 1, --save_model 0|1", () => {
    const one = ['--model', '2', '--loss', '9', '--data', 'synthetic:48', '--epochs', '1', '--image-size', '32', '--width', '0.0625', '--seed', '7', '--quiet'];
    const b = tmp();
    const r = melseg(['train', ...one, '--batch_size', '2', '--evaluate', '1', '--new_dataframe', '1', '--save_model', '1', '--out', b]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/test \(6 images at their original size, best\.ckpt from epoch 1\): IoU/);
    const c = tmp();
    expect(melseg(['train', ...one, '--batch_size', '2', '--save_model', '0', '--out', c]).status).toBe(0);
    expect(fs.readdirSync(path.join(c, 'artifacts', RUN)).filter((f) => /best|predictions/.test(f))).toEqual([]);
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

  test('a missing dataset path names it and the expected layouts, before any graph is built', () => {
    const r = melseg(['train', '--model', '1', '--loss', '9', '--data', '/nonexistent/ph2', '--image-size', '32', '--width', '0.0625', '--out', tmp()]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/\/nonexistent\/ph2/);
    expect(r.stdout).not.toMatch(/building graphs/);
  });

  // Meaningful only where the CUDA provider is not installed (as on CI): there it must fail clearly.
  const cudaInstalled = fs.existsSync(path.join(__dirname, '..', '..', 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64', 'libonnxruntime_providers_cuda.so'));
  (cudaInstalled ? test.skip : test)('--device cuda without the CUDA provider says how to install it', () => {
    const r = melseg(['train', '--model', '1', '--loss', '9', '--data', 'synthetic:8', '--epochs', '1', '--image-size', '32', '--width', '0.0625', '--device', 'cuda', '--out', tmp(), '--quiet']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12/);
  });
});
