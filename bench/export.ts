/**
 * npm run bench:export -- --checkpoint best.ckpt [--split all] [--data D] [--batches 1,8] [--threads 2] [--rounds 7] [--no-iou]
 *
 * The exported model (melseg export) against the inference graph evaluate and predict run, on one
 * checkpoint, side by side in one process:
 *   size   the .onnx file (fp32, --fp16) against the inference graph's file plus the checkpoint
 *   speed  median ms per image per batch size, all sessions timed in interleaved rounds (so machine
 *          load falls on all alike), wall and this process's CPU time, same session options
 *          (src/onnx/session.ts); also the export without the rewrites (BatchNorm folding only)
 *   IoU    mean IoU at full resolution (as melseg evaluate scores) of each network on one split of the
 *          checkpoint's data, with the checkpoint's inference settings (raw unless it records some),
 *          and each export's paired difference from the inference graph (mean +- standard error).
 *          The exports take value / 255: the harness feeds them the evaluate batch de-normalised
 *          (x std + mean, float32), which moves inputs by float rounding only.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { IMAGENET_MEAN, IMAGENET_STD } from '../src/data';
import { exportGraph, exportModel } from '../src/export';
import { forEachFullResolution } from '../src/infer/fullres';
import { loadWeights, openNetwork } from '../src/infer/model';
import { toMask } from '../src/infer/postprocess';
import { loadRunData, splitIndices, SPLITS, type SplitName } from '../src/infer/rundata';
import { meanStdOf, scoreMask } from '../src/infer/scores';
import { describeSettings, resolveSettings, type InferenceSettings } from '../src/infer/settings';
import type { Network } from '../src/infer/tta';
import { exportPipeline, GRAPH_FILES } from '../src/graphs';
import { ensureGraphs } from '../src/graphs/cache';
import { serialize } from '../src/onnx/proto';
import { openSession } from '../src/onnx/session';
import { foldBatchNormPass } from '../src/passes/fold-batchnorm';
import { parseArgs, table } from './args';
import { race, type Prepared } from './harness';

const USAGE = 'usage: npm run bench:export -- --checkpoint best.ckpt [--split all|test|valid|train] [--data D] [--batches 1,8] [--threads 2] [--rounds 7] [--no-iou]';

const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2), { checkpoint: 'string', split: 'string', data: 'string', batches: 'string', threads: 'number', rounds: 'number', 'no-iou': 'flag' }, USAGE);
  if (typeof a.checkpoint !== 'string') throw new Error(`--checkpoint is required\n${USAGE}`);
  const ckpt = a.checkpoint;
  const threads = (a.threads as number | undefined) ?? 2;
  const split = ((a.split as string | undefined) ?? 'all') as SplitName;
  if (!(SPLITS as readonly string[]).includes(split)) throw new Error(`--split ${split}: expected ${SPLITS.join(', ')}`);
  const batches = ((a.batches as string | undefined) ?? '1,8').split(',').map(Number);

  const { config: c, state, checkpoint } = loadWeights(ckpt);
  const S = c.imageSize;
  const fp32 = exportModel(ckpt);
  const fp16 = exportModel(ckpt, { fp16: true });
  const foldOnly = serialize(exportGraph(c, state.values, { ...exportPipeline(), tag: 'fold-only', rewrites: [foldBatchNormPass] }));
  const graphs = await ensureGraphs(c, { kinds: ['inference'] });
  const inferenceFile = path.join(graphs.dir, GRAPH_FILES.inference);
  console.log(`${c.model.name} x ${c.loss.name}, ${S} px, width ${c.width} (${ckpt}); ${threads} threads`);
  console.log('\nsize');
  console.log(
    table([
      ['file', 'size'],
      ['export (fp32 weights)', kib(fp32.bytes.length)],
      ['export --fp16', kib(fp16.bytes.length)],
      ['inference graph + checkpoint', `${kib(fs.statSync(inferenceFile).size)} + ${kib(fs.statSync(ckpt).size)}`],
    ]),
  );

  // speed: the same images through every network
  const inference = await openSession(inferenceFile, 'cpu', { threads });
  const params = state.feeds(graphs.manifest.graphs.inference.inputs);
  const sessions = { 'export fp32': await openSession(fp32.bytes, 'cpu', { threads }), 'export fp16': await openSession(fp16.bytes, 'cpu', { threads }), 'export, fold only': await openSession(foldOnly, 'cpu', { threads }) };
  const rows: string[][] = [];
  for (const B of batches) {
    const x = new Float32Array(B * 3 * S * S).map((_, i) => ((i * 7919) % 256) / 255);
    const image = new ort.Tensor('float32', x, [B, 3, S, S]);
    const cases: Prepared[] = [
      { name: 'inference graph', session: inference, feeds: { ...params, image }, nodes: 0 },
      ...Object.entries(sessions).map(([name, session]) => ({ name, session, feeds: { image }, nodes: 0 })),
    ];
    const t = await race(cases, (a.rounds as number | undefined) ?? 7, 3);
    const base = t.get('inference graph')!;
    for (const [name, v] of t) rows.push([String(B), name, (v.wall / B).toFixed(2), (v.cpu / B).toFixed(2), (base.wall / v.wall).toFixed(2)]);
  }
  console.log('\nspeed (median ms per image; speed-up = inference graph wall / this wall)');
  console.log(table([['batch', 'network', 'wall ms/img', 'cpu ms/img', 'speed-up'], ...rows]));
  if (a['no-iou']) return;

  // IoU at full resolution, as melseg evaluate scores
  const r = resolveSettings({}, checkpoint.meta.inference);
  const settings: InferenceSettings = { tta: r.tta, largestComponent: r.largestComponent, fillHoles: r.fillHoles, threshold: r.threshold === 'auto' ? 0.5 : r.threshold };
  const rd = await loadRunData({ checkpoint: ckpt, meta: checkpoint.meta, data: a.data as string | undefined, needSplit: split !== 'all', why: `--split ${split}` });
  const indices = splitIndices(rd, split);
  const net = await openNetwork(ckpt);
  const unit = (x: Float32Array) => {
    const out = new Float32Array(x.length);
    const plane = S * S;
    for (let i = 0; i < x.length; i++) {
      const ch = Math.floor(i / plane) % 3;
      out[i] = x[i] * IMAGENET_STD[ch] + IMAGENET_MEAN[ch];
    }
    return out;
  };
  const exported = (s: ort.InferenceSession): Network => async (x, n) => (await s.run({ image: new ort.Tensor('float32', unit(x), [n, 3, S, S]) })).probability.data as Float32Array;
  const nets: [string, Network][] = [['inference graph', net.run], ['export fp32', exported(sessions['export fp32'])], ['export fp16', exported(sessions['export fp16'])]];
  const ious = new Map<string, number[]>();
  for (const [name, n] of nets) {
    const xs: number[] = [];
    await forEachFullResolution(n, rd.dataset, indices, { tta: settings.tta, batchSize: 8, truth: rd.truth }, (s) => {
      xs.push(scoreMask(toMask(s.prob, s.width, s.height, settings), s.truth.data).iou);
    });
    ious.set(name, xs);
  }
  const ref = ious.get('inference graph')!;
  console.log(`\nIoU on ${indices.length} images (--split ${split} of ${rd.spec}), ${describeSettings({ ...settings, origin: r.origin })}`);
  console.log(
    table([
      ['network', 'mean IoU', 'paired difference', 'images that changed'],
      ...[...ious].map(([name, xs]) => {
      const d = meanStdOf(xs.map((v, i) => v - ref[i]));
      const changed = xs.filter((v, i) => v !== ref[i]).length;
        return [name, meanStdOf(xs).mean.toFixed(5), `${d.mean >= 0 ? '+' : ''}${d.mean.toExponential(1)} +- ${(d.std / Math.sqrt(xs.length)).toExponential(1)}`, String(changed)];
      }),
    ]),
  );
}

main().catch((e) => {
  console.error((e as Error).message);
  process.exit(1);
});
