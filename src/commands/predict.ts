import { Args, Flags } from '@oclif/core';
import { MelsegCommand } from '../cli/command';
import { inferenceFlags, inferenceRequest } from '../infer/flags';
import { SHIPPED_MODEL } from '../infer/model';
import { predictImages, printable } from '../infer/predict';
import { describeSettings } from '../infer/settings';
import { DEVICES, parseDevice, parseThreads } from '../onnx/session';

export default class Predict extends MelsegCommand {
  static override summary = 'Segment new images: a mask (PNG, original size, 0/255) and an overlay for each.';
  static override description = `Images may be any size; folders stand for their image files. Outputs are <name>_mask.png and
<name>_overlay.png in --out (a folder apart from the images: one that holds an input is refused); an input whose
name an earlier input already took gets a numbered suffix (reported). Each image's size is read from its header
first: above 100 megapixels (10000 x 10000) it is refused before decoding (predict needs about 16 bytes a pixel).
An image that fails does not stop the others: the failures are listed at the end and the exit status is 1.
Inference settings: flags > --preset > the checkpoint's own settings > raw.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> --checkpoint best.ckpt lesion1.jpg lesion2.bmp --out predictions/',
    '<%= config.bin %> <%= command.id %> photos/ --out predictions/ --preset best',
  ];
  static override strict = false;
  static override args = { images: Args.string({ description: 'Image files (JPEG, PNG, BMP, GIF, TIFF) or folders of them.', required: true }) };
  static override flags = {
    checkpoint: Flags.string({
      char: 'c',
      summary: `A best.ckpt written by melseg train (default: the model shipped with melseg, ${SHIPPED_MODEL}); repeat it for an ensemble (the mean of their probabilities).`,
      multiple: true,
      multipleNonGreedy: true,
    }),
    out: Flags.string({ char: 'o', summary: 'Output folder.', required: true }),
    data: Flags.string({ char: 'd', summary: 'For --threshold auto: the dataset the checkpoint was trained on (default: its metadata).' }),
    'split-file': Flags.string({ summary: 'For --threshold auto: the run\'s split JSON (default: split.json beside the checkpoint).' }),
    device: Flags.string({ summary: 'cpu, cuda or webgpu.', default: 'cpu', options: [...DEVICES] }),
    threads: Flags.integer({ summary: 'onnxruntime intra-op threads (default: the CPU cores this process may use, e.g. a Slurm job\'s --cpus-per-task).' }),
    quiet: Flags.boolean({ char: 'q', summary: 'No line per image: only failures, renamed outputs and errors.', default: false }),
    ...inferenceFlags,
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Predict);
    // a line per image as it is done (names made safe for the terminal), the failures again at the end
    const show = printable;
    const r = await predictImages({
      checkpoint: flags.checkpoint,
      inputs: argv as string[],
      out: flags.out,
      data: flags.data,
      splitFile: flags['split-file'],
      inference: inferenceRequest(flags),
      device: parseDevice(flags.device),
      threads: parseThreads(flags.threads),
      log: (s) => (flags.quiet ? undefined : this.log(s)),
      onReady: (r) =>
        this.log(`${r.checkpoints.length > 1 ? `ensemble of ${r.checkpoints.length} checkpoints (mean probability): ${r.checkpoints.map(show).join(', ')}` : `checkpoint ${show(r.checkpoints[0])}`}; settings: ${describeSettings({ ...r.settings, origin: r.auto ? `${r.origin}; threshold chosen on the valid split` : r.origin })}`),
      onPrediction: (p) => {
        if (!flags.quiet) this.log(`${show(p.input)} -> ${show(p.mask)}  ${show(p.overlay)}  lesion ${(100 * p.lesionFraction).toFixed(1)}% of the image`);
      },
      onFailure: (f) => this.logToStderr(`failed: ${show(f.input)}: ${show(f.error)}`),
    });
    const renamed = r.predictions.filter((p) => p.renamedBecause);
    if (renamed.length) {
      this.log(`note: ${renamed.length} input(s) share a file name with an earlier input; their outputs got a suffix:`);
      for (const p of renamed) this.log(`  ${show(p.input)} (same name as ${show(p.renamedBecause!)}) -> ${show(p.mask)}`);
    }
    if (r.failures.length) {
      this.logToStderr(`${r.failures.length} of ${r.failures.length + r.predictions.length} image(s) could not be segmented (the other ${r.predictions.length} were):`);
      for (const f of r.failures) this.logToStderr(`  ${show(f.input)}: ${show(f.error)}`);
      return this.exit(1);
    }
  }
}
