import * as fs from 'fs';
import * as ort from 'onnxruntime-node';
import { cpuIsa } from '../../src/onnx/cpu';
import { Graph } from '../../src/onnx/graph';
import { serialize } from '../../src/onnx/proto';
import { checkDevice, ensureRuntimeDir, openSession, parseDevice, parseThreads, sessionOptions } from '../../src/onnx/session';
import { availableCores } from '../../src/util/machine';
import { melseg } from '../helpers/cli';

describe('sessions', () => {
  test('one set of options for every session: the device\'s provider, then the CPU; threads as asked, else the cores this process may use', () => {
    expect(sessionOptions('cpu')).toEqual({ executionProviders: ['cpu'], graphOptimizationLevel: 'all', enableMemPattern: false, executionMode: 'sequential', interOpNumThreads: 1, intraOpNumThreads: availableCores() });
    expect(sessionOptions('cuda', { threads: 2 })).toMatchObject({ executionProviders: ['cuda', 'cpu'], intraOpNumThreads: 2 });
  });

  test('devices parse by name, and anything else is named with the choices', () => {
    expect(parseDevice(' WebGPU ')).toBe('webgpu');
    expect(() => parseDevice('tpu')).toThrow("device 'tpu': expected one of cpu, cuda, webgpu");
  });

  test('a session opens from bytes or a file and runs', async () => {
    const g = new Graph('t');
    g.output(g.op1('Relu', [g.input('x', [2])]), 'y');
    const s = await openSession(serialize(g), 'cpu', { threads: 1 });
    const r = await s.run({ x: new ort.Tensor('float32', Float32Array.of(-1, 2), [2]) });
    expect(Array.from(r.y.data as Float32Array)).toEqual([0, 2]);
  });

  test('a missing GPU provider says how to install it', async () => {
    const listed = ort.listSupportedBackends().some((b) => b.name === 'cuda');
    if (listed) return; // this machine has the CUDA provider: nothing to refuse
    await expect(openSession(new Uint8Array(), 'cuda')).rejects.toThrow(/--device cuda: the CUDA execution provider is not installed.*ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node/);
  });

  test('WebGPU without XDG_RUNTIME_DIR gets a private empty folder (mode 0700) for Dawn; one the user set is kept', () => {
    const env: NodeJS.ProcessEnv = {};
    const dir = ensureRuntimeDir(env);
    expect(env.XDG_RUNTIME_DIR).toBe(dir);
    expect([fs.statSync(dir).mode & 0o777, fs.readdirSync(dir)]).toEqual([0o700, []]);
    const mine = { XDG_RUNTIME_DIR: '/run/user/1000' };
    expect([ensureRuntimeDir(mine), mine.XDG_RUNTIME_DIR]).toEqual(['/run/user/1000', '/run/user/1000']);
  });

  test('GPU sessions log errors only (onnxruntime\'s shape-ops-on-CPU warning is by design); the CPU keeps the default', () => {
    expect(sessionOptions('webgpu').logSeverityLevel).toBe(3);
    expect(sessionOptions('cpu').logSeverityLevel).toBeUndefined();
  });

  test('--threads is a whole number >= 1; not given, the default applies', () => {
    expect(parseThreads(undefined)).toBeUndefined();
    expect(parseThreads(3)).toBe(3);
    expect(() => parseThreads(0)).toThrow(`--threads 0: expected a whole number >= 1 (onnxruntime's intra-op threads), e.g. --threads ${availableCores()}`);
    expect(() => parseThreads(-2)).toThrow('--threads -2');
  });

  test('checkDevice opens a one-node model on the provider alone: a missing CUDA provider is named up front, with the fix', async () => {
    await expect(checkDevice('cpu')).resolves.toBeUndefined();
    const g = new Graph('t');
    g.output(g.op1('Relu', [g.input('x', [1])]), 'y');
    const opens = await ort.InferenceSession.create(serialize(g), { executionProviders: ['cuda'], logSeverityLevel: 4 }).then(
      () => true,
      () => false,
    );
    if (opens) await expect(checkDevice('cuda')).resolves.toBeUndefined();
    else await expect(checkDevice('cuda')).rejects.toThrow(/^--device cuda: the CUDA execution provider is not installed.*ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node.*\(onnxruntime said: /);
  });

  test('melseg train --device cuda without the provider fails before decoding data or compiling graphs', async () => {
    const g = new Graph('t');
    g.output(g.op1('Relu', [g.input('x', [1])]), 'y');
    const opens = await ort.InferenceSession.create(serialize(g), { executionProviders: ['cuda'], logSeverityLevel: 4 }).then(() => true, () => false);
    const r = melseg(['train', '--device', 'cuda', '--data', 'synthetic:8', '--image-size', '32', '--epochs', '1', '--out', '/nonexistent-never-created', '-q']);
    if (opens) return expect(r.stderr).not.toContain('--device cuda:');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('--device cuda: the CUDA execution provider is not installed');
    expect(r.stdout + r.stderr).not.toMatch(/decode|data: |model: /);
  });

  test('the CPU\'s vector ISA comes from /proc/cpuinfo\'s flags', () => {
    expect(cpuIsa('processor : 0\nflags : fpu sse avx2 fma avx512f avx512bw\n')).toBe('AVX-512');
    expect(cpuIsa('flags\t\t: fpu sse avx avx2 fma\n')).toBe('AVX2');
    expect(cpuIsa('flags : fpu sse\n')).toBe('other');
    expect(cpuIsa('')).toBe('other');
  });
});
