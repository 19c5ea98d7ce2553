import { Command, Flags } from '@oclif/core';
import { LAYOUT_HELP } from '../data';
import { bool01, fractions, modelFlags, positiveNumber, trainFlags } from '../cli/flags';
import { parseDevice } from '../train/device';
import { train } from '../train/trainer';

export default class Train extends Command {
  static override summary = 'Train a network on PH2, an ISIC-style folder, or synthetic data.';
  static override description = `Each epoch: train loss, valid loss, valid IoU (per image at 0.5, averaged over images), lr and seconds,
appended to results/results.csv; artifacts/<run>/best.ckpt (best valid IoU, with a prediction grid) and
last.ckpt (every epoch, with optimizer state: --resume continues a killed run exactly).`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> --model 1 --loss 9 --data synthetic --epochs 3 --image-size 64 --width 0.125 --batch-size 8',
    '<%= config.bin %> <%= command.id %> --model 3 --loss 5 --data "~/PH2Dataset" --epochs 20 --batch_size 25 --evaluate 1',
    '<%= config.bin %> <%= command.id %> --model 3 --loss 5 --data ~/ISIC2017 --image-size 128 --width 0.25 --batch-size 16 --resume',
  ];
  static override flags = { ...modelFlags, ...trainFlags, 'run-id': Flags.string({ summary: 'Name of the run folder (default from the configuration).' }) };

  async run(): Promise<void> {
    const { flags } = await this.parse(Train);
    if (!flags.data) this.error(`--data is required.\n${LAYOUT_HELP}`);
    const r = await train({
      model: flags.model,
      loss: flags.loss,
      data: flags.data,
      epochs: flags.epochs,
      batchSize: flags['batch-size'],
      lr: positiveNumber('lr', flags.lr),
      imageSize: flags['image-size'],
      width: positiveNumber('width', flags.width),
      seed: flags.seed,
      device: parseDevice(flags.device),
      out: flags.out,
      split: flags.split,
      splitFractions: fractions(flags['split-fractions']),
      newDataframe: bool01('new-dataframe', flags['new-dataframe']),
      saveModel: bool01('save-model', flags['save-model']),
      evaluate: bool01('evaluate', flags.evaluate),
      augment: flags.augment,
      resume: flags.resume,
      workers: flags.workers,
      runId: flags['run-id'],
      progress: !flags.quiet,
      log: (s) => this.log(s),
    });
    this.log(`results: ${r.resultsFile} (run ${r.runId})`);
    if (r.bestCheckpoint) this.log(`best: ${r.bestCheckpoint} (epoch ${r.best!.epoch}, valid IoU ${r.best!.iou.toFixed(4)})`);
    this.log(`last: ${r.lastCheckpoint}`);
    if (r.grid) this.log(`predictions: ${r.grid}`);
  }
}
