/**
 * node dist/bench/ab.js --model M --image-size S --width W --batch-size B --variants JSON
 *                       [--rounds 4] [--steps 2] [--warmup 2] [--threads 2]
 * (or --a JSON --b JSON [--c JSON] [--d JSON]; or --chain all|I,J,.. for the optimisation history
 * in src/bench/chain.ts, or some of its entries by index)
 *
 * A/B test of formulation or session choices on the whole train step: each variant is a JSON object
 * {"name": "...", "lowering": {...}, "session": {...}} (src/onnx/graph.ts Lowering; onnxruntime
 * session options), --variants a JSON array of them. All variants live in this process and take
 * turns (the order reverses every round), so the machine's load falls on all alike; prints each
 * one's median step and its speed relative to the first. (Peak memory cannot be told apart in one
 * process: measure it with bench:train --lowering/--session, one process per variant.)
 */
import { median, parseArgs, table } from './args';
import { TrainStepper } from './stepper';
import type { Lowering } from '../onnx/graph';
import type * as ort from 'onnxruntime-node';
import { nchwcBlockSize } from '../onnx/run';
import { chain } from './chain';

interface Variant {
  name?: string;
  lowering?: Lowering;
  session?: ort.InferenceSession.SessionOptions;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2), {
    model: 'string', 'image-size': 'number', width: 'number', 'batch-size': 'number', variants: 'string', a: 'string', b: 'string', c: 'string', d: 'string',
    rounds: 'number', steps: 'number', warmup: 'number', threads: 'number', chain: 'string',
  }, 'usage: node dist/bench/ab.js --model M --image-size S --width W --batch-size B (--chain all|I,J,.. | --variants JSON | --a JSON --b JSON [--c JSON] [--d JSON]) [--rounds 4] [--steps 2] [--warmup 2]');
  let variants: Variant[];
  if (a.chain) {
    const all = chain(await nchwcBlockSize());
    variants = a.chain === 'all' ? all : (a.chain as string).split(',').map((i) => all[Number(i)]);
  } else variants = a.variants ? JSON.parse(a.variants as string) : (['a', 'b', 'c', 'd'] as const).filter((k) => a[k] !== undefined).map((k) => ({ name: k, ...JSON.parse(a[k] as string) }));
  if (variants.length < 2) throw new Error('ab: expected at least two variants (--variants [..] or --a and --b)');
  const steppers = [];
  for (const [i, v] of variants.entries()) {
    const s = await TrainStepper.create({
      model: (a.model as string) ?? '1', imageSize: (a['image-size'] as number) ?? 128, width: (a.width as number) ?? 0.25,
      batch: (a['batch-size'] as number) ?? 8, threads: (a.threads as number) ?? 2, lowering: v.lowering, session: v.session,
    });
    for (let k = 0; k < ((a.warmup as number) ?? 2); k++) await s.run();
    steppers.push({ name: v.name ?? String.fromCharCode(97 + i), spec: { lowering: v.lowering, session: v.session }, s, ms: [] as number[] });
  }
  const rounds = (a.rounds as number) ?? 4;
  for (let r = 0; r < rounds; r++) {
    for (const v of r % 2 ? [...steppers].reverse() : steppers) {
      for (let k = 0; k < ((a.steps as number) ?? 2); k++) v.ms.push((await v.s.run()).totalMs);
    }
  }
  const base = median(steppers[0].ms);
  const rows = [['variant', 'median ms/step', 'min', 'speed vs first', 'vs previous', 'nodes']];
  let prev = base;
  for (const v of steppers) {
    const m = median(v.ms);
    rows.push([v.name, m.toFixed(1), Math.min(...v.ms).toFixed(1), (base / m).toFixed(3), (prev / m).toFixed(3), String(v.s.info.nodes)]);
    prev = m;
  }
  console.log(table(rows));
  for (const v of steppers) console.log(`  ${v.name}: ${JSON.stringify(v.spec)}`);
}

main().catch((e) => {
  console.error(`ab: ${(e as Error).message}`);
  process.exit(1);
});
