import { Args, Command, Flags } from '@oclif/core';
import { parseDevice } from '../onnx/session';
import { predictImages } from '../train/evaluate';

export default class Predict extends Command {
  static override summary = 'Segment new images: a mask (PNG, original size, 0/255) and an overlay for each.';
  static override examples = ['<%= config.bin %> <%= command.id %> --checkpoint best.ckpt lesion1.jpg lesion2.bmp --out predictions/'];
  static override strict = false;
  static override args = { images: Args.string({ description: 'Image files (JPEG, PNG, BMP).', required: true }) };
  static override flags = {
    checkpoint: Flags.string({ char: 'c', summary: 'A best.ckpt written by melseg train.', required: true }),
    out: Flags.string({ char: 'o', summary: 'Output folder.', required: true }),
    device: Flags.string({ summary: 'cpu, cuda or webgpu.', default: 'cpu', options: ['cpu', 'cuda', 'webgpu'] }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Predict);
    const r = await predictImages({ checkpoint: flags.checkpoint, images: argv as string[], out: flags.out, device: parseDevice(flags.device) });
    for (const x of r) this.log(`${x.mask}  ${x.overlay}  lesion ${(100 * x.lesionFraction).toFixed(1)}% of the image`);
  }
}
