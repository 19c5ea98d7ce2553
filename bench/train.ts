/**
 * npm run bench:train -- --model M --image-size S --width W --batch-size B [--steps K] [--warmup K]
 *                        [--threads T] [--profile] [--json] [--serve]
 *
 * Times the fused train-step graph the trainer runs: median ms per step after warm-up, images/s, the
 * split into session.run (graph execution + the binding's output copies) and JS (feeds), peak RSS, the
 * step's FLOPs (bench/flops.ts) and the achieved GFLOP/s against the machine's fp32 peak, measured
 * here (bench/peak.ts). --profile adds onnxruntime's per-op-type kernel times (top 15) and the split of session.run
 * into graph execution (model_run) and the binding's work around it.
 * --serve (used by bench:vs-torch): set up and warm up, print one JSON line, then answer stdin lines
 * `run K` with a JSON line of K step timings, and `quit` with the peak RSS.
 */
import * as readline from 'readline';
import { fmtBytes, median, parseArgs, parseTarget, peakRss, table } from './args';
import { stepFlops } from './flops';
import { machineLine, measurePeak } from './peak';
import { inOrder, liveness } from './liveness';
import { summarizeProfile } from './profile';
import { TrainStepper, type StepTime } from './stepper';

const USAGE = `usage: npm run bench:train -- --model M --image-size S --width W --batch-size B [--steps 10] [--warmup 2] [--threads 2] [--profile] [--json]
  [--nchwc | --no-nchwc]  override the CPU pipeline's rule for onnxruntime's NCHWc kernels (src/graphs/pipeline.ts)
  [--target T]            compile for cpu (default), cuda, webgpu or portable, and run on this CPU
  [--file F]              run this train-step graph file instead (e.g. one an older melseg built)
  [--session JSON]        extra onnxruntime session options, e.g. '{"enableMemPattern":true}'
  [--fresh-outputs]       new output tensors each step, as melseg ran the step before it updated the state in place (memory before/after)
  [--drop P,Q]            compile without these device passes (by name, src/graphs/pipeline.ts DEVICE_PASSES), e.g. backward-side-inputs-first`;

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2), {
    model: 'string', 'image-size': 'number', width: 'number', 'batch-size': 'number', steps: 'number', warmup: 'number',
    threads: 'number', profile: 'flag', json: 'flag', serve: 'flag', loss: 'number', session: 'string', nchwc: 'flag', 'no-nchwc': 'flag',
    target: 'string', file: 'string', 'fresh-outputs': 'flag', drop: 'string',
  }, USAGE);
  const model = (a.model as string) ?? '1';
  const imageSize = (a['image-size'] as number) ?? 128;
  const width = (a.width as number) ?? 0.25;
  const batch = (a['batch-size'] as number) ?? 8;
  const steps = (a.steps as number) ?? 10;
  const warmup = (a.warmup as number) ?? 2;
  const threads = (a.threads as number) ?? 2;
  if (!(batch >= 1 && Number.isInteger(batch))) throw new Error(`--batch-size ${batch}: expected a positive integer`);
  const nchwc = a.nchwc ? true : a['no-nchwc'] ? false : undefined;
  const target = parseTarget(a.target);
  const graphFile = a.file as string | undefined;
  // the process's memory at each phase: resident (RSS), V8's heap, and the ArrayBuffers (the state) outside it
  const mem = (phase: string) => ({ phase, ...process.memoryUsage(), peakRss: peakRss() });
  const memory = [mem('start')];
  const stepper = await TrainStepper.create({ model, imageSize, width, batch, threads, loss: (a.loss as number) ?? 9, profile: !!a.profile,
    session: a.session ? JSON.parse(a.session as string) : undefined, nchwc, target, file: graphFile, fresh: !!a['fresh-outputs'],
    drop: a.drop ? String(a.drop).split(',') : undefined });
  const variant = { target: target ?? 'cpu', ...(nchwc !== undefined ? { nchwc } : {}), ...(graphFile ? { file: graphFile } : {}), ...(a['fresh-outputs'] ? { freshOutputs: true } : {}), ...(a.drop ? { drop: String(a.drop).split(',') } : {}) };
  const flops = stepFlops(stepper.info.config, batch);
  memory.push(mem('session'));
  for (let i = 0; i < warmup; i++) await stepper.run();
  memory.push(mem('warm-up'));

  if (a.serve) return serve(stepper, flops.step);

  const times: StepTime[] = [];
  for (let i = 0; i < steps; i++) times.push(await stepper.run());
  memory.push(mem('steps'));
  const peak = await measurePeak(threads);
  const ms = median(times.map((t) => t.totalMs));
  const runMs = median(times.map((t) => t.runMs));
  const jsMs = median(times.map((t) => t.jsMs));
  const gflops = flops.step / (ms / 1000) / 1e9;
  const c = stepper.info.config;
  const result = {
    model: c.model.name, imageSize, width, batch, threads, steps, warmup, ...variant, peakGflops: peak,
    msPerStep: ms, msPerImage: ms / batch, imagesPerSec: (1000 * batch) / ms, runMs, jsMs,
    stepGflop: flops.step / 1e9, gflops, peakShare: gflops / peak, peakRssBytes: peakRss(),
    nodes: stepper.info.nodes, graphBytes: stepper.info.graphBytes, stateBytes: stepper.info.stateBytes,
    buildMs: stepper.info.buildMs, sessionMs: stepper.info.sessionMs, loss: stepper.lastLoss, liveness: stepper.info.liveness, memory,
    stepsMs: times.map((t) => t.totalMs), arrayBufferBytesPerStep: median(times.map((t) => t.arrayBufferBytes)),
  };
  const file = stepper.endProfiling();
  const prof = file ? summarizeProfile(file, warmup) : undefined;
  await stepper.release();
  if (a.json) {
    console.log(JSON.stringify({ ...result, profile: prof && { ...prof, nodes: prof.nodes.slice(0, 30), order: undefined } }));
    return;
  }
  console.log(machineLine(threads, peak));
  console.log(`${c.model.name} (model ${c.model.id}), image ${imageSize}, width ${width}, batch ${batch}, ${threads} threads, loss ${c.loss.name}, ${JSON.stringify(variant)}`);
  console.log(`graph: ${stepper.info.nodes} nodes, ${fmtBytes(stepper.info.graphBytes)} serialised, built in ${(stepper.info.buildMs / 1000).toFixed(1)} s, session in ${(stepper.info.sessionMs / 1000).toFixed(1)} s; parameter state per step ${fmtBytes(stepper.info.stateBytes)} in and out`);
  console.log(`steps: ${steps} timed after ${warmup} warm-up; median ${ms.toFixed(1)} ms/step (min ${Math.min(...result.stepsMs).toFixed(1)}, max ${Math.max(...result.stepsMs).toFixed(1)})`);
  console.log(`throughput: ${result.imagesPerSec.toFixed(2)} images/s, ${result.msPerImage.toFixed(1)} ms/image`);
  console.log(`split: session.run ${runMs.toFixed(1)} ms (graph + binding I/O), JS feeds/bookkeeping ${jsMs.toFixed(2)} ms`);
  console.log(`compute: ${(flops.step / 1e9).toFixed(2)} GFLOP/step (${flops.convs} convs: fwd ${(flops.forward / 1e9).toFixed(2)} + bwd ${(flops.backward / 1e9).toFixed(2)}), ${gflops.toFixed(1)} GFLOP/s = ${(100 * result.peakShare).toFixed(1)}% of the ${peak.toFixed(0)} GFLOP/s peak`);
  console.log(`peak RSS: ${fmtBytes(result.peakRssBytes)}; last loss ${stepper.lastLoss.toFixed(5)}`);
  console.log(`JS ArrayBuffers, net growth per step (median; a garbage collection inside the step hides what the binding allocated): ${fmtBytes(result.arrayBufferBytesPerStep)}`);
  console.log(`memory by phase (MiB): ${memory.map((m) => `${m.phase}: RSS ${(m.rss / 2 ** 20).toFixed(0)}, JS heap ${(m.heapUsed / 2 ** 20).toFixed(0)}, ArrayBuffers ${(m.arrayBuffers / 2 ** 20).toFixed(0)}`).join('; ')}`);
  const lv = stepper.info.liveness;
  if (lv) {
    console.log(
      `graph memory by liveness in node order (bench/liveness.ts, an estimate of the arena's need): inputs ${fmtBytes(lv.inputBytes)}, outputs ${fmtBytes(lv.outputBytes)}${lv.outputsInPlace ? ' (written in place)' : ''}, ` +
        `intermediates at their peak ${fmtBytes(lv.peakBytes)} (node ${lv.peakIndex + 1} of ${lv.nodes}, the loss is node ${lv.lossIndex + 1}): ` +
        `forward activations ${fmtBytes(lv.peakForwardBytes)}, backward/update values ${fmtBytes(lv.peakBackwardBytes)}, outputs ${fmtBytes(lv.peakOutputBytes)}`,
    );
  }
  if (prof) {
    console.log(`\nprofile (${prof.runs} runs after warm-up, profiler on): model_run ${prof.modelRunMs.toFixed(1)} ms, kernels ${prof.kernelMs.toFixed(1)} ms; session.run - model_run = ${(runMs - prof.modelRunMs).toFixed(1)} ms (binding: wrap inputs, copy outputs to JS)`);
    const rows = [['op type', 'ms/step', 'share', 'nodes']];
    for (const o of prof.ops.slice(0, 15)) rows.push([o.op, o.ms.toFixed(1), `${(100 * o.share).toFixed(1)}%`, String(Math.round(o.calls))]);
    console.log(table(rows));
    if (prof.arena) console.log(`\nonnxruntime's CPU arena: held ${fmtBytes(prof.arena.heldBytes)}, at most ${fmtBytes(prof.arena.inUsePeakBytes)} in use at once (after a node: at most ${fmtBytes(prof.arena.mostAfterBytes)}, after ${prof.arena.mostAfterNode})`);
    const g = stepper.info.graph;
    if (g && prof.order.length) {
      const ran = liveness(g, batch, { outputsInPlace: !a['fresh-outputs'], nodes: inOrder(g, prof.order) });
      console.log(`liveness in the order onnxruntime ran the nodes: intermediates at their peak ${fmtBytes(ran.peakBytes)} (against ${fmtBytes(stepper.info.liveness!.peakBytes)} in the graph's order)`);
    }
    const nrows = [['slowest nodes', 'op', 'ms/step']];
    for (const n of prof.nodes.slice(0, 10)) nrows.push([n.name, n.op, n.ms.toFixed(1)]);
    console.log('\n' + table(nrows));
    console.log(`\nprofile file: ${file}`);
  }
}

async function serve(stepper: TrainStepper, stepFlop: number): Promise<void> {
  const c = stepper.info.config;
  console.log(JSON.stringify({ ready: true, model: c.model.name, stepFlop, nodes: stepper.info.nodes }));
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    const [cmd, arg] = line.trim().split(/\s+/);
    if (cmd === 'run') {
      const ts: StepTime[] = [];
      for (let i = 0; i < Number(arg); i++) ts.push(await stepper.run());
      console.log(JSON.stringify({ ms: ts.map((t) => t.totalMs), runMs: ts.map((t) => t.runMs), loss: stepper.lastLoss }));
    } else if (cmd === 'quit') {
      console.log(JSON.stringify({ peakRssBytes: peakRss() }));
      break;
    }
  }
  rl.close();
  await stepper.release();
}

main().catch((e) => {
  console.error(`bench:train: ${(e as Error).message}`);
  process.exit(1);
});
