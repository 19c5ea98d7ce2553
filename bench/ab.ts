/**
 * npm run bench:ab -- --model M --image-size S --width W --batch-size B --variants JSON
 *                     [--rounds 4] [--steps 2] [--warmup 2] [--threads 2]
 *
 * A/B test of pipeline or session choices on the whole train step: each variant is a JSON object
 * {"name": "...", "target": "cpu" | "cuda" | "webgpu" | "portable", "nchwc": true | false,
 *  "drop": [pass, ...], "add": [pass, ...], "file": "train_step_model.onnx", "session": {...}}: the
 * compile target (every variant runs on this CPU, so "portable" times the GPU-safe formulations
 * here), the CPU pipeline's NCHWc override, device passes dropped from or added to the target's
 * pipeline (src/graphs/pipeline.ts DEVICE_PASSES), a graph file to run instead (an older melseg's,
 * for before/after), onnxruntime session options.
 * All variants live in this process and take turns (the order reverses every round), so the
 * machine's load falls on all alike; prints each one's median step (wall and process CPU time) and
 * its speed relative to the first. (Peak memory cannot be told apart in one process: measure it with bench:train, one process
 * per variant.)
 */
import * as os from 'os';
import type * as ort from 'onnxruntime-node';
import { median, parseArgs, parseTarget, table } from './args';
import { machineLine, measurePeak } from './peak';
import { TrainStepper } from './stepper';

interface Variant {
  name?: string;
  target?: string;
  nchwc?: boolean;
  drop?: string[];
  add?: string[];
  file?: string;
  session?: ort.InferenceSession.SessionOptions;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2), {
    model: 'string', 'image-size': 'number', width: 'number', 'batch-size': 'number', variants: 'string',
    rounds: 'number', steps: 'number', warmup: 'number', threads: 'number',
  }, 'usage: npm run bench:ab -- --model M --image-size S --width W --batch-size B --variants JSON [--rounds 4] [--steps 2] [--warmup 2] [--threads 2]');
  const variants: Variant[] = a.variants ? JSON.parse(a.variants as string) : [];
  if (variants.length < 2) throw new Error('ab: expected at least two variants in --variants, e.g. \'[{"name":"cpu"},{"name":"portable","target":"portable"}]\'');
  const threads = (a.threads as number) ?? 2;
  console.log(machineLine(threads, await measurePeak(threads)));
  const steppers = [];
  for (const [i, v] of variants.entries()) {
    const s = await TrainStepper.create({
      model: (a.model as string) ?? '1', imageSize: (a['image-size'] as number) ?? 128, width: (a.width as number) ?? 0.25,
      batch: (a['batch-size'] as number) ?? 8, threads, target: parseTarget(v.target), nchwc: v.nchwc, drop: v.drop, add: v.add, file: v.file, session: v.session,
    });
    for (let k = 0; k < ((a.warmup as number) ?? 2); k++) await s.run();
    steppers.push({ name: v.name ?? String.fromCharCode(97 + i), spec: v, s, ms: [] as number[], cpu: [] as number[] });
  }
  const rounds = (a.rounds as number) ?? 4;
  for (let r = 0; r < rounds; r++) {
    for (const v of r % 2 ? [...steppers].reverse() : steppers) {
      for (let k = 0; k < ((a.steps as number) ?? 2); k++) {
        const t = await v.s.run();
        v.ms.push(t.totalMs);
        v.cpu.push(t.cpuMs);
      }
    }
  }
  const base = median(steppers[0].ms);
  const baseCpu = median(steppers[0].cpu);
  const rows = [['variant', 'median ms/step', 'min', 'speed vs first', 'vs previous', 'CPU ms/step', 'CPU speed vs first', 'nodes']];
  let prev = base;
  for (const v of steppers) {
    const m = median(v.ms);
    const cpu = median(v.cpu);
    rows.push([v.name, m.toFixed(1), Math.min(...v.ms).toFixed(1), (base / m).toFixed(3), (prev / m).toFixed(3), cpu.toFixed(1), (baseCpu / cpu).toFixed(3), String(v.s.info.nodes)]);
    prev = m;
  }
  console.log(table(rows));
  for (const v of steppers) console.log(`  ${v.name}: ${JSON.stringify(v.spec)}`);
  console.log(`load average at end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

main().catch((e) => {
  console.error(`ab: ${(e as Error).message}`);
  process.exit(1);
});
