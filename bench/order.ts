/**
 * npm run bench:order -- --model M --image-size S --width W --batch-size B [--loss L]
 *
 * The train step's intermediate memory by liveness (src/graphs/liveness.ts), without running it: in
 * the graph's node order and in onnxruntime's default execution order (ortOrder, its reverse
 * depth-first walk from the leaves). Seconds to run, so graph changes that move the peak can be
 * compared before a session is opened; `bench:train --profile` gives the order onnxruntime really ran.
 */
import { pipeline, resolveConfig, targetFor, trainStepGraph } from '../src/graphs';
import { liveness, ortOrder } from '../src/graphs/liveness';
import { fmtBytes, parseArgs } from './args';

const USAGE = 'usage: npm run bench:order -- --model M --image-size S --width W --batch-size B [--loss 9] [--json]';

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2), { model: 'string', 'image-size': 'number', width: 'number', 'batch-size': 'number', loss: 'number', json: 'flag' }, USAGE);
  const c = resolveConfig({ model: (a.model as string) ?? '1', loss: (a.loss as number) ?? 9, imageSize: (a['image-size'] as number) ?? 128, width: (a.width as number) ?? 0.25, seed: 1 });
  const batch = (a['batch-size'] as number) ?? 8;
  const g = trainStepGraph(c, pipeline(c, await targetFor('cpu')));
  const graphOrder = liveness(g, batch, { outputsInPlace: true });
  const ort = liveness(g, batch, { outputsInPlace: true, nodes: ortOrder(g) });
  if (a.json) {
    console.log(JSON.stringify({ model: c.model.name, imageSize: c.imageSize, width: c.width, batch, graphOrder, ortOrder: ort }));
    return;
  }
  const line = (what: string, l: typeof ort) =>
    `${what}: intermediates at their peak ${fmtBytes(l.peakBytes)} (forward activations ${fmtBytes(l.peakForwardBytes)}, backward/update values ${fmtBytes(l.peakBackwardBytes)}; after node ${l.peakIndex + 1} of ${l.nodes}, ${l.peakNode}; the loss is node ${l.lossIndex + 1})`;
  console.log(`${c.model.name} (model ${c.model.id}), image ${c.imageSize}, width ${c.width}, batch ${batch}; state in and out ${fmtBytes(graphOrder.inputBytes)}`);
  console.log(line("the graph's order", graphOrder));
  console.log(line("onnxruntime's order (ortOrder)", ort));
}

main().catch((e) => {
  console.error(`bench:order: ${(e as Error).message}`);
  process.exit(1);
});
