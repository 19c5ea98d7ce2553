import { Command, Flags } from '@oclif/core';
import { parseDevice } from '../onnx/session';
import { evaluateCheckpoint } from '../train/evaluate';

/** The study's headline figures, for comparison with what a checkpoint scores. */
const STUDY = 'the study: UNet_dilate + Tversky, valid IoU 0.825 (20 epochs), test IoU 0.861 on PH2';

export default class Evaluate extends Command {
  static override summary = 'Score a checkpoint: IoU, Dice, pixel accuracy, sensitivity, specificity, per image and on average.';
  static override description = `Model, loss, image size and width come from the checkpoint's metadata. The split comes from the
split.json saved beside it (or --split-file); --split all scores every image of --data.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> --checkpoint artifacts/UNet_dilate_tversky_loss_alpha_0.10_s256_w1_seed0/best.ckpt',
    '<%= config.bin %> <%= command.id %> --checkpoint best.ckpt --data ~/PH2Dataset --split all --save-masks masks/',
  ];
  static override flags = {
    checkpoint: Flags.string({ char: 'c', summary: 'A best.ckpt or last.ckpt written by melseg train.', required: true }),
    data: Flags.string({ char: 'd', summary: 'Dataset (default: the one the checkpoint was trained on).' }),
    split: Flags.string({ summary: 'Which images: test, valid, train or all.', default: 'test', options: ['test', 'valid', 'train', 'all'] }),
    'split-file': Flags.string({ summary: 'Split JSON (default: split.json beside the checkpoint).' }),
    'batch-size': Flags.integer({ char: 'b', summary: 'Images per run.', default: 8 }),
    device: Flags.string({ summary: 'cpu, cuda or webgpu.', default: 'cpu', options: ['cpu', 'cuda', 'webgpu'] }),
    csv: Flags.string({ summary: 'Per-image CSV (default: eval_<split>.csv beside the checkpoint).' }),
    'save-masks': Flags.string({ summary: 'Write predicted masks (PNG, original size) to this folder.' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Evaluate);
    const r = await evaluateCheckpoint({
      checkpoint: flags.checkpoint,
      data: flags.data,
      split: flags.split,
      splitFile: flags['split-file'],
      batchSize: flags['batch-size'],
      device: parseDevice(flags.device),
      csv: flags.csv,
      saveMasks: flags['save-masks'],
      log: (s) => this.log(s),
    });
    const m = r.mean;
    this.log(`${r.config.model.name} x ${r.config.loss.name} on ${r.images.length} ${r.split} images:`);
    this.log(`  IoU          ${m.iou.toFixed(4)}`);
    this.log(`  Dice         ${m.dice.toFixed(4)}`);
    this.log(`  accuracy     ${m.accuracy.toFixed(4)}`);
    this.log(`  sensitivity  ${m.sensitivity.toFixed(4)}`);
    this.log(`  specificity  ${m.specificity.toFixed(4)}`);
    this.log(`  loss         ${r.loss.toFixed(4)}`);
    this.log(`(${STUDY})`);
    this.log(`per-image results: ${r.csv}${flags['save-masks'] ? `; masks in ${flags['save-masks']}` : ''}`);
  }
}
