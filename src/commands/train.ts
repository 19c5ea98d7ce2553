import { Flags } from '@oclif/core';
import { MelsegCommand } from '../cli/command';
import { LAYOUT_HELP } from '../data';
import { modelFlags, runFlags, runSettings, studyArgv, trainFlags, trainRuntime } from '../cli/flags';
import { withStopSignals } from '../cli/run-command';
import { chooseInferenceSettings } from '../infer/choose';
import { evaluateTrainedRun } from '../infer/trained-run';
import { train } from '../train/trainer';

export default class Train extends MelsegCommand {
  static override summary = 'Train a network on PH2, an ISIC-style folder, or synthetic data.';
  static override description = `Each epoch: train loss, valid loss, valid IoU (per image at 0.5, averaged over images), lr and seconds,
appended to results/results.csv; artifacts/<run>/best.ckpt (best valid IoU, with a prediction grid) and
last.ckpt (every epoch, with optimizer state). A run folder belongs to one run: re-running it needs
--resume (continue; also after Ctrl-C, SIGTERM or kill -9) or --overwrite (start over; the old run is
moved aside). Settings not given come from the recipe (--recipe melseg or study).`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> --model 1 --loss 9 --data synthetic --epochs 3 --image-size 64 --width 0.125 --batch-size 8',
    '<%= config.bin %> <%= command.id %> --recipe study --data ~/PH2Dataset --evaluate',
    '<%= config.bin %> <%= command.id %> --model 3 --loss 5 --data ~/isic2017 --image-size 128 --width 0.25 --batch-size 16 --resume',
    '<%= config.bin %> <%= command.id %> --data ~/isic2017 --image-size 128 --width 0.25 --resume --epochs 40 --lr 1e-4 --allow-change lr',
    '<%= config.bin %> <%= command.id %> --config artifacts/UNet_dilate_bce_dice_loss_s128_w0.25_seed0/run.json --seed 1',
    '<%= config.bin %> <%= command.id %> --data ~/isic2017 --image-size 128 --width 0.25 --limit 32 --epochs 2',
    'for i in 1 2 3 4 5; do <%= config.bin %> <%= command.id %> --data ~/isic2017 --split-file split.json --fold $i/5; done',
  ];
  static override flags = {
    ...modelFlags,
    ...trainFlags,
    ...runFlags,
    'choose-settings': Flags.boolean({
      summary: 'After training, measure the inference presets (raw, best) on the valid split and store the better one in best.ckpt, where predict, evaluate and export read it (--no-choose-settings: leave best.ckpt raw).',
      default: true,
      allowNo: true,
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Train, studyArgv(this.argv));
    if (!flags.data && !flags.config) this.error(`--data is required (or --config with a run's run.json).\n${LAYOUT_HELP}`);
    const settings = runSettings(flags);
    const r = await withStopSignals((signal) => train({ ...settings, config: flags.config, fold: flags.fold, ...trainRuntime(flags), signal, log: (s) => this.log(s) }), {
      log: (s) => this.log(s),
      exit: (code) => this.exit(code),
      bin: this.config.bin,
      argv: ['train', ...this.argv],
    });
    if (settings.evaluate) await evaluateTrainedRun(r, { ...settings, log: (s) => this.log(s) });
    this.log(`results: ${r.resultsFile} (run ${r.runId})`);
    if (r.bestCheckpoint) this.log(`best: ${r.bestCheckpoint} (epoch ${r.best!.epoch}, valid IoU ${r.best!.iou.toFixed(4)})`);
    if (r.bestCheckpoint && flags['choose-settings']) {
      const c = await chooseInferenceSettings(r.bestCheckpoint, { log: (s) => this.log(s) });
      const scores = Object.entries(c.iou).map(([p, x]) => `${p} ${x.toFixed(4)}`).join(', ');
      this.log(`inference settings: preset ${c.preset}, stored in best.ckpt (mean IoU on the ${c.images} valid images at full resolution: ${scores})`);
    }
    this.log(`last: ${r.lastCheckpoint}`);
    if (r.grid) this.log(`predictions: ${r.grid}`);
  }
}
