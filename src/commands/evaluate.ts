import { Flags } from '@oclif/core';
import { MelsegCommand } from '../cli/command';
import type { SettingsComparison } from '../infer/compare';
import { compareCheckpointSettings, evaluateCheckpoint, type Evaluation } from '../infer/evaluate';
import { inferenceFlags, inferenceRequest } from '../infer/flags';
import { SPLITS, type SplitName } from '../infer/rundata';
import { describeSettings } from '../infer/settings';
import { DEVICES, parseDevice, parseThreads } from '../onnx/session';
import { NAMED_MIXES } from '../data/labels';
import { FAIL_IOU, JACCARD_THRESHOLD, type IouSummary } from '../infer/summary';

export default class Evaluate extends MelsegCommand {
  static override summary = 'Score a checkpoint at the original image resolution: IoU, Dice, accuracy, sensitivity, specificity (mean and std), per-image CSV.';
  static override description = `Model, loss, image size and width come from the checkpoint's metadata. The split comes from the
split.json saved beside it (or --split-file); --split all scores every image of --data. Each probability map is
upsampled (bilinear) to its image's original size, thresholded and post-processed there, and compared with the
original mask file. Inference settings: flags > --preset > the checkpoint's own settings > raw.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> --checkpoint artifacts/UNet_dilate_tversky_loss_alpha_0.10_s256_w1_seed0/best.ckpt',
    '<%= config.bin %> <%= command.id %> --checkpoint best.ckpt --split valid --preset best',
    '<%= config.bin %> <%= command.id %> --checkpoint best.ckpt --split test --tta d4 --largest-component --threshold auto',
    '<%= config.bin %> <%= command.id %> --checkpoint best.ckpt --data ~/PH2Dataset --split all --save-masks masks/',
    '<%= config.bin %> <%= command.id %> --checkpoint best.ckpt --split test --compare-settings',
    '<%= config.bin %> <%= command.id %> --checkpoint seed0/best.ckpt --checkpoint seed1/best.ckpt --checkpoint seed2/best.ckpt --split test',
  ];
  static override flags = {
    checkpoint: Flags.string({
      char: 'c',
      summary: 'A best.ckpt or last.ckpt written by melseg train; repeat it to score an ensemble (the mean of their probabilities; the first one\'s dataset and split.json speak for all).',
      required: true,
      multiple: true,
      multipleNonGreedy: true,
    }),
    data: Flags.string({ char: 'd', summary: 'Dataset (default: the one the checkpoint was trained on).' }),
    split: Flags.string({ summary: 'Which images: test, valid, train or all.', default: 'test', options: [...SPLITS] }),
    'split-file': Flags.string({ summary: 'Split JSON (default: split.json beside the checkpoint).' }),
    'batch-size': Flags.integer({ char: 'b', summary: 'Images per network run (each with all its TTA views).', default: 8 }),
    device: Flags.string({ summary: 'cpu, cuda or webgpu.', default: 'cpu', options: [...DEVICES] }),
    threads: Flags.integer({ summary: 'onnxruntime intra-op threads (default: the CPU cores this process may use, e.g. a Slurm job\'s --cpus-per-task).' }),
    quiet: Flags.boolean({ char: 'q', summary: 'Only the scores: no lines about graphs being built or the threshold chosen.', default: false }),
    csv: Flags.string({ summary: 'Per-image CSV, with the settings and checkpoint hash on every row (default: eval_<split>.csv in the checkpoint\'s run folder, else the current folder; -2, -3, ... when taken).' }),
    force: Flags.boolean({ summary: 'Replace an existing --csv file (never the checkpoint, the split file or a file of --data).', default: false }),
    'save-masks': Flags.string({ summary: 'Write the final masks (PNG, original size, 0/255) to this folder.' }),
    labels: Flags.string({
      summary: 'Labels CSV (ISIC 2017 Part 3 image_id,melanoma,seborrheic_keratosis, or id,label) for figures per label (default: labels.csv in --data or the folder above it).',
    }),
    'no-labels': Flags.boolean({ summary: 'Ignore labels.csv even where one is found.' }),
    'weights-from': Flags.string({
      summary: `Also give every figure reweighted to a label mix: ${Object.keys(NAMED_MIXES).join(', ')}, label=count pairs (nevus=78,melanoma=30,seborrheic_keratosis=42), or a labels CSV.`,
    }),
    gallery: Flags.integer({ summary: 'Images in the failure gallery (the worst by IoU, <csv>_worst.png); 0 = none.', default: 8, min: 0 }),
    ...inferenceFlags,
    'compare-settings': Flags.boolean({
      summary: 'Instead of one score: mean IoU of every combination of --tta, --largest-component and --fill-holes, at --threshold (0.5) and at the threshold auto picks on the valid split.',
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Evaluate);
    const options = {
      checkpoint: flags.checkpoint,
      data: flags.data,
      split: flags.split as SplitName,
      splitFile: flags['split-file'],
      batchSize: flags['batch-size'],
      device: parseDevice(flags.device),
      threads: parseThreads(flags.threads),
      csv: flags.csv,
      force: flags.force,
      saveMasks: flags['save-masks'],
      labels: flags['no-labels'] ? (false as const) : flags.labels,
      weightsFrom: flags['weights-from'],
      gallery: flags.gallery,
      inference: inferenceRequest(flags),
      log: (s: string) => (flags.quiet ? undefined : this.log(s)),
    };
    if (flags['compare-settings']) {
      for (const line of comparison(await compareCheckpointSettings(options))) this.log(line);
      return;
    }
    for (const line of report(await evaluateCheckpoint(options), flags['save-masks'])) this.log(line);
  }
}

function comparison(c: SettingsComparison & { config: Evaluation['config']; data: string }): string[] {
  const f = (x: { mean: number; std: number }) => `${x.mean.toFixed(4)} (${x.std.toFixed(4)})`;
  const auto = c.validImages !== undefined;
  return [
    `${c.config.model.name} x ${c.config.loss.name}: mean IoU (std) on ${c.images} ${c.split} images of ${c.data}, scored at the original resolution` +
      (auto ? `; threshold auto chosen on the ${c.validImages} valid images` : ''),
    `  tta    largest  fill    IoU at ${c.threshold}       ${auto ? 'auto  IoU at auto' : ''}`,
    ...c.rows.map(
      (r) =>
        `  ${r.tta.padEnd(6)} ${(r.largestComponent ? 'yes' : '-').padEnd(8)} ${(r.fillHoles ? 'yes' : '-').padEnd(7)} ${f(r.fixed)}   ` +
        (r.auto ? `${r.auto.threshold.toFixed(2)}  ${f(r.auto)}` : ''),
    ),
  ];
}

function report(r: Evaluation, masks?: string): string[] {
  const rows: [string, keyof Evaluation['mean']][] = [['IoU', 'iou'], ['Dice', 'dice'], ['accuracy', 'accuracy'], ['sensitivity', 'sensitivity'], ['specificity', 'specificity']];
  const out = [
    `${r.config.model.name} x ${r.config.loss.name} on ${r.images.length} ${r.split} images of ${r.data.spec}, scored at the original resolution`,
    ...(r.checkpoints.length > 1 ? [`ensemble of ${r.checkpoints.length} checkpoints (mean probability): ${r.checkpoints.join(', ')}`] : []),
    `settings: ${describeSettings({ ...r.settings, origin: r.auto ? `${r.origin}; threshold chosen on the valid split` : r.origin })}`,
    `               mean     std`,
    ...rows.map(([label, k]) => `  ${label.padEnd(12)} ${r.mean[k].toFixed(4)}   ${r.std[k].toFixed(4)}`),
    `pooled over all pixels of the ${r.images.length} images (one confusion matrix, as EGE-UNet's and MALUNet's papers score): IoU ${r.pooled.iou.toFixed(4)}, Dice ${r.pooled.dice.toFixed(4)}`,
  ];
  out.push(...summaryLines(r));
  const ref = r.reference;
  if (ref && 'iou' in ref) out.push(`(reference: the study's ${ref.split} IoU on PH2 is ${ref.iou.toFixed(3)}: UNet_dilate + Tversky, 20 epochs)`);
  else if (ref) out.push(`(reference: the study reports PH2 IoU only for valid, 0.825, and test, 0.861; this is the ${ref.split} split)`);
  out.push(`per-image results: ${r.csv}${masks ? `; masks in ${masks}` : ''}`);
  if (r.gallery) out.push(`the ${r.gallery.ids.length} worst images (image | probability | truth | final mask): ${r.gallery.file}`);
  return out;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

function summaryRow(label: string, s: IouSummary, counts = true): string {
  const n = counts ? `${String(s.countBelow03).padStart(4)} (${pct(s.below03).padStart(5)})  ${String(s.countBelow065).padStart(4)} (${pct(s.below065).padStart(5)})` : `     ${pct(s.below03).padStart(5)}         ${pct(s.below065).padStart(5)} `;
  return `  ${label.padEnd(22)} ${String(s.n).padStart(5)}  ${s.mean.toFixed(4)}  ${s.median.toFixed(4)}  ${s.thresholdedJaccard.toFixed(4)}   ${n}`;
}

/** What a user sees beyond the mean: median, thresholded Jaccard, failures; per label and reweighted. */
function summaryLines(r: Evaluation): string[] {
  const s = r.summary;
  const out = [
    `IoU per image (thresholded Jaccard: an IoU below ${JACCARD_THRESHOLD} counts as 0)${r.labels ? `; labels from ${r.labels}` : ''}`,
    `  ${'images'.padEnd(22)}     n  mean    median  thr.Jacc. IoU<${FAIL_IOU}       IoU<${JACCARD_THRESHOLD}`,
    summaryRow('all', s.all),
    ...Object.entries(s.groups ?? {}).map(([g, x]) => summaryRow(g, x)),
  ];
  const w = s.reweighted;
  if (w) {
    const shares = Object.entries(w.shares).map(([g, x]) => `${g} ${pct(x)}`).join(', ');
    out.push(summaryRow('reweighted', w.summary, false));
    out.push(`  (reweighted: each label weighted to its share of ${w.mix}, ${shares}${w.missing.length ? `; no scored image of ${w.missing.join(', ')}` : ''}${w.ignored ? `; ${w.ignored} images of other labels weigh 0` : ''})`);
  }
  return out;
}
