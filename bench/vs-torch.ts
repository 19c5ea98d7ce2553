/**
 * npm run bench:vs-torch [-- --configs 1:128:0.25:8,3:256:1:2 --rounds 3 --steps 2 --warmup 1 --threads 2 --json FILE]
 *
 * melseg against PyTorch on the same networks (scripts/torch_models.py via scripts/torch_bench.py),
 * same batch, image size and width, both training steps = forward + tversky loss (alpha 0.5) +
 * backward + AdamW(lr 3e-4, wd 0.01), 2 threads each. Both sides run as child processes that stay up
 * for the whole config (set up and warmed up once) and take turns: each round runs `steps` steps on
 * one side, then on the other (the order alternates), so the machine's load falls on both alike;
 * the table reports the median step of each side. Child processes (not melseg in this process)
 * because peak RSS is a per-process high-water mark: in one process the second config would report
 * the first one's peak.
 */
import { ChildProcessWithoutNullStreams, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as readline from 'readline';
import * as os from 'os';
import { fmtBytes, median, parseArgs, table } from './args';
import { stepFlops } from './flops';
import { machineLine, measurePeak } from './peak';
import { resolveConfig, targetFor, trainStepGraph } from '../src/graphs';
import { cpuIsa } from '../src/onnx/cpu';

const USAGE = `usage: npm run bench:vs-torch -- [--configs MODEL:SIZE:WIDTH:BATCH,...] [--rounds R] [--steps K] [--warmup W] [--threads T] [--json FILE] [--no-nchwc]
  default configs: 1:128:0.25:8, 3:128:0.25:8, 1:256:1:2, 3:256:1:2 (UNet and UNet_dilate)
  melseg runs its CPU pipeline as the trainer would (NCHWc by its measured rule) and, where this
  onnxruntime has the com.microsoft.nchwc kernels and the choice matters, the other NCHWc choice too
  (skip it with --no-nchwc)`;

const DEFAULT_CONFIGS = '1:128:0.25:8,3:128:0.25:8,1:256:1:2,3:256:1:2';

/** The checkout's root: the folder above this script's that holds package.json (bench/ or its build). */
function repoRoot(): string {
  for (let d = __dirname; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'package.json')) && fs.existsSync(path.join(d, 'scripts'))) return d;
    if (path.dirname(d) === d) throw new Error(`bench:vs-torch: no checkout (package.json and scripts/) above ${__dirname}`);
  }
}
const ROOT = repoRoot();

/** A child speaking the bench protocol: one JSON line when ready, one per command. */
class Child {
  private lines: AsyncIterator<string>;
  private constructor(readonly name: string, private readonly p: ChildProcessWithoutNullStreams) {
    this.lines = readline.createInterface({ input: p.stdout })[Symbol.asyncIterator]();
    p.stderr.on('data', (d) => process.stderr.write(`[${name}] ${d}`));
  }

  static async start(name: string, cmd: string, args: string[]): Promise<{ child: Child; hello: Record<string, unknown> }> {
    const p = spawn(cmd, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const child = new Child(name, p);
    const hello = await child.read();
    return { child, hello };
  }

  async read(): Promise<Record<string, unknown>> {
    for (;;) {
      const r = await this.lines.next();
      if (r.done) throw new Error(`${this.name}: the child process ended without answering (see its stderr above)`);
      const s = r.value.trim();
      if (s.startsWith('{')) return JSON.parse(s);
    }
  }

  async ask(cmd: string): Promise<Record<string, unknown>> {
    this.p.stdin.write(cmd + '\n');
    return this.read();
  }

  async quit(): Promise<number> {
    const r = await this.ask('quit');
    this.p.stdin.end();
    await new Promise((res) => this.p.once('exit', res));
    return r.peakRssBytes as number;
  }
}

function findPython(): string | undefined {
  for (const py of [process.env.MELSEG_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean) as string[]) {
    if (spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) return py;
  }
  return undefined;
}

interface Side {
  ms: number;
  peakRss: number;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2), { configs: 'string', rounds: 'number', steps: 'number', warmup: 'number', threads: 'number', json: 'string', 'no-nchwc': 'flag' }, USAGE);
  const configs = ((a.configs as string) ?? DEFAULT_CONFIGS).split(',').map((s) => {
    const [model, size, width, batch] = s.split(':').map(Number);
    if ([model, size, width, batch].some((x) => !Number.isFinite(x))) throw new Error(`--configs entry '${s}': expected MODEL:SIZE:WIDTH:BATCH, e.g. 1:128:0.25:8`);
    return { model, size, width, batch };
  });
  const threads = (a.threads as number) ?? 2;
  const py = findPython();
  if (!py) console.log('PyTorch is absent (no python3 with `import torch`; on Debian: apt-get install python3-torch, or set MELSEG_PYTHON): timing melseg only.');
  const load = os.loadavg();
  const peak = await measurePeak(threads);
  console.log(`${machineLine(threads, peak)}; ${threads} threads per side; each side in turn, medians`);
  const cpu = await targetFor('cpu');
  let torchInfo = '';
  const rows = [['config', 'variant', 'ms/img', 'torch ms/img', 'ratio', 'GFLOP/s (% peak)', 'torch GFLOP/s', 'peak RSS', 'torch RSS', 'RSS ratio']];
  const results: unknown[] = [];
  for (const cf of configs) {
    const c = resolveConfig({ model: cf.model, loss: 9, imageSize: cf.size, width: cf.width });
    const flop = stepFlops(c, cf.batch).step;
    // Defaults sized to keep the four default configs under ~10 minutes on 2 cores.
    const big = flop > 2e11;
    const rounds = (a.rounds as number) ?? 4;
    const steps = (a.steps as number) ?? (big ? 1 : 3);
    const warmup = (a.warmup as number) ?? (big ? 1 : 2);
    const common = ['--model', String(cf.model), '--image-size', String(cf.size), '--width', String(cf.width), '--batch-size', String(cf.batch), '--threads', String(threads), '--warmup', String(warmup), '--serve'];
    const label = `${c.model.name} ${cf.size}px w${cf.width} b${cf.batch}`;
    process.stdout.write(`${label}: ${(flop / 1e9).toFixed(1)} GFLOP/step; ${rounds} rounds x ${steps} steps after ${warmup} warm-up ...`);
    const sides: { name: string; child: Child; ms: number[] }[] = [];
    // the pipeline's own NCHWc choice, and the other one where its filter picks some convolution (none for 64+ channels)
    const nchwcConvs = (nchwc: boolean) => trainStepGraph(resolveConfig({ model: cf.model, loss: 9, imageSize: cf.size, width: cf.width, nchwc }), cpu).opCounts().NchwcConv ?? 0;
    const chosen = (trainStepGraph(c, cpu).opCounts().NchwcConv ?? 0) > 0;
    const mel = await Child.start('melseg', process.execPath, [path.join(__dirname, 'train.js'), ...common]);
    sides.push({ name: `melseg${chosen ? ' (nchwc)' : ''}`, child: mel.child, ms: [] });
    if (!a['no-nchwc'] && cpu.nchwcBlock && nchwcConvs(true)) {
      const flag = chosen ? '--no-nchwc' : '--nchwc';
      const other = await Child.start(`melseg ${flag}`, process.execPath, [path.join(__dirname, 'train.js'), ...common, flag]);
      sides.push({ name: `melseg ${flag}`, child: other.child, ms: [] });
    }
    if (py) {
      const t = await Child.start('torch', py, [path.join(ROOT, 'scripts', 'torch_bench.py'), ...common]);
      sides.push({ name: 'torch', child: t.child, ms: [] });
      torchInfo = `PyTorch ${t.hello.torch} with ${t.hello.threads} threads, BLAS: ${t.hello.blas ?? 'unknown'}`;
    }
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? [...sides].reverse() : sides;
      for (const s of order) s.ms.push(...((await s.child.ask(`run ${steps}`)).ms as number[]));
      process.stdout.write('.');
    }
    const out: Record<string, Side> = {};
    for (const s of sides) out[s.name] = { ms: median(s.ms), peakRss: await s.child.quit() };
    process.stdout.write(' done\n');
    const t = out.torch;
    const gf = (ms: number) => flop / (ms / 1000) / 1e9;
    const pct = (ms: number) => `${gf(ms).toFixed(1)} (${((100 * gf(ms)) / peak).toFixed(1)}%)`;
    for (const s of sides.filter((x) => x.name !== 'torch')) {
      const m = out[s.name];
      rows.push([
        label, s.name, (m.ms / cf.batch).toFixed(1), t ? (t.ms / cf.batch).toFixed(1) : '-', t ? (t.ms / m.ms).toFixed(2) : '-',
        pct(m.ms), t ? pct(t.ms) : '-', fmtBytes(m.peakRss), t ? fmtBytes(t.peakRss) : '-', t ? (m.peakRss / t.peakRss).toFixed(2) : '-',
      ]);
    }
    results.push({ ...cf, model: c.model.name, stepGflop: flop / 1e9, sides: Object.fromEntries(sides.map((s) => [s.name, { ...out[s.name], steps: s.ms }])) });
  }
  if (torchInfo) console.log(`\n${torchInfo}${/openblas/i.test(torchInfo) ? '' : ' (Debian\'s reference BLAS slows PyTorch\'s BLAS-backed ops; apt-get install libopenblas0-pthread for a fair reference)'}`);
  console.log(`\nratio = melseg throughput / PyTorch throughput (> 1: melseg faster); GFLOP/s (% of the measured ${peak.toFixed(0)} GFLOP/s peak) from the conv FLOP model in bench/flops.ts;`);
  console.log('peak RSS = each process\'s resident high-water mark (process.resourceUsage / getrusage); RSS ratio = melseg / PyTorch');
  console.log(table(rows));
  console.log(`load average at end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  if (a.json) fs.writeFileSync(a.json as string, JSON.stringify({ threads, isa: cpuIsa(), peakGflops: peak, loadStart: load, loadEnd: os.loadavg(), results }, null, 2));
}

main().catch((e) => {
  console.error(`bench:vs-torch: ${(e as Error).message}`);
  process.exit(1);
});
