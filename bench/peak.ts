/**
 * The machine the benchmarks ran on: its vector ISA (/proc/cpuinfo) and its measured fp32 peak, the
 * best of a few runs of one large MatMul in onnxruntime with the benchmark's threads and session
 * options (MLAS's GEMM is the fastest kernel the training graphs run, so no op of theirs can beat it).
 */
import * as os from 'os';
import * as ort from 'onnxruntime-node';
import { cpuIsa } from '../src/onnx/cpu';
import { Graph } from '../src/onnx/graph';
import { serialize } from '../src/onnx/proto';
import { openSession } from '../src/onnx/session';

/**
 * GFLOP/s of an n x n x n MatMul (2 n^3 FLOPs), the best of `runs` after one warm-up: by wall time,
 * or, where other work shares the machine and the wall clock also counts waiting for a core, by CPU
 * time (threads x FLOPs / CPU seconds), whichever is higher.
 */
export async function measurePeak(threads: number, n = 1536, runs = 5): Promise<number> {
  const g = new Graph('peak');
  g.output(g.op1('MatMul', [g.input('a', [n, n]), g.input('b', [n, n])]), 'c');
  const s = await openSession(serialize(g), 'cpu', { threads });
  const t = new ort.Tensor('float32', new Float32Array(n * n).fill(0.5), [n, n]);
  let best = Infinity;
  let bestCpu = Infinity;
  for (let i = 0; i <= runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await s.run({ a: t, b: t });
    const c = process.cpuUsage(c0);
    if (i === 0) continue;
    best = Math.min(best, performance.now() - t0);
    bestCpu = Math.min(bestCpu, (c.user + c.system) / 1000 / threads);
  }
  await s.release();
  return (2 * n ** 3) / (Math.min(best, bestCpu) / 1000) / 1e9;
}

/** One line on the machine: cores, ISA, measured peak, load. */
export function machineLine(threads: number, peak: number): string {
  const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  return `machine: ${os.cpus().length} cores, ${cpuIsa()}, measured fp32 peak ${peak.toFixed(0)} GFLOP/s (${threads} threads, best MatMul by wall or CPU time); load average ${load}`;
}
