import { Command, Flags } from '@oclif/core';
import { LAYOUT_HELP } from '../data';
import { modelFlags, runSettings, trainFlags } from '../cli/flags';
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
      ...runSettings(flags),
      model: flags.model,
      loss: flags.loss,
      resume: flags.resume,
      runId: flags['run-id'],
      log: (s) => this.log(s),
    });
    this.log(`results: ${r.resultsFile} (run ${r.runId})`);
    if (r.bestCheckpoint) this.log(`best: ${r.bestCheckpoint} (epoch ${r.best!.epoch}, valid IoU ${r.best!.iou.toFixed(4)})`);
    this.log(`last: ${r.lastCheckpoint}`);
    if (r.grid) this.log(`predictions: ${r.grid}`);
  }
}
