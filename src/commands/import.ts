import { Flags } from '@oclif/core';
import { MelsegCommand } from '../cli/command';
import { positiveNumber } from '../cli/flags';
import { importStateDict, type ImportResult } from '../interop/import';
import { PickleRefusedError, shellQuote } from '../interop/pickle';
import { RECIPES } from '../train/recipe';
import { LOSSES } from '../losses';
import { modelList } from '../models';

export default class Import extends MelsegCommand {
  static override summary = 'Turn PyTorch weights (a state_dict saved as safetensors) into a melseg checkpoint that evaluate and predict read.';
  static override description = `The state_dict names must be the study's (conv1.0.weight, bottle.dalated_conv.bias, ...), as
scripts/torch_models.py and the study's own SegNet / UNet(mode) classes produce. Every tensor that does not
fit the network is listed (missing, unexpected, wrong shape, wrong dtype); F16, BF16 and F64 tensors are
converted to F32, a "module." prefix (nn.DataParallel) is removed, absent num_batches_tracked counters are
written as 0. Without --model and --width the network is recognised from the tensors. The checkpoint holds
no optimizer state. Pickled .pth / .pt files are refused (loading them runs code): the error prints the
Python that converts them (see docs/pytorch.md).`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> --state-dict unet.safetensors --model 1 --width 1 --image-size 256 --out unet.ckpt',
    '<%= config.bin %> <%= command.id %> --state-dict dilate.safetensors --model UNet_dilate --image-size 256 --loss tversky_loss_alpha_0.10 --out dilate.ckpt',
    '<%= config.bin %> <%= command.id %> --state-dict weights.safetensors --image-size 128 --out my.ckpt --force',
  ];
  static override flags = {
    'state-dict': Flags.string({ summary: 'The weights: a file from safetensors.torch.save_file(model.state_dict(), path). A .pth is refused with the commands that convert it.', required: true }),
    model: Flags.string({ char: 'm', summary: `Network: ${modelList()} (number or name; default: recognised from the tensors).` }),
    width: Flags.string({ summary: 'Channel width multiplier, output channels of conv1.0.weight / 64 (default: read from the tensors).' }),
    'image-size': Flags.integer({
      summary: `Side of the network input the weights were trained at, a multiple of 32 (default ${RECIPES.melseg.imageSize}, the recipe's; required for UNet_dilate).`,
      aliases: ['image_size'],
    }),
    loss: Flags.string({ char: 'l', summary: `Loss recorded in the metadata, number or name; it does not change the weights (default ${RECIPES.melseg.loss}, ${LOSSES[RECIPES.melseg.loss].name}, the recipe's).` }),
    out: Flags.string({ char: 'o', summary: 'The melseg checkpoint to write (safetensors with melseg metadata).', required: true }),
    force: Flags.boolean({ summary: 'Replace --out if it exists.', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Import);
    let r: ImportResult;
    try {
      r = await importStateDict({
        stateDict: flags['state-dict'],
        out: flags.out,
        model: flags.model,
        width: flags.width === undefined ? undefined : positiveNumber('width', flags.width),
        imageSize: flags['image-size'],
        loss: flags.loss,
        force: flags.force,
      });
    } catch (e) {
      if (!(e instanceof PickleRefusedError)) throw e;
      this.logToStderr(`Error: ${e.message}`); // verbatim: its commands are pasted as printed
      return this.exit(1);
    }
    for (const n of r.notes) this.log(`note: ${n}`);
    const c = r.config;
    this.log(`wrote ${r.out}: ${c.model.name} (model ${c.model.id}), width ${c.width}, image size ${c.imageSize}, loss ${c.loss.name}; ${r.tensors} tensors, no optimizer state`);
    const ck = shellQuote(r.out);
    this.log(`next: melseg predict --checkpoint ${ck} IMAGE... --out predictions/   or   melseg evaluate --checkpoint ${ck} --data DATASET --split all`);
  }
}
