import { Flags } from '@oclif/core';
import { MelsegCommand } from '../cli/command';
import * as fs from 'fs';
import * as path from 'path';
import { initialCheckpoint, parameterSpecs, resolveConfig, writeGraphs } from '../graphs';
import { saveCheckpoint } from '../checkpoint/checkpoint';
import { lossTable } from '../losses';
import { modelList, modelTable } from '../models';
import { positiveNumber } from '../cli/flags';
import { RECIPES } from '../train/recipe';

export default class BuildGraph extends MelsegCommand {
  static override summary = 'Compile a model x loss into ONNX graphs: training (loss + gradients), AdamW, fused train step, eval, inference, and initial weights.';
  static override description = `Writes graphs/<Model>_<loss>/ (or --out DIR) with training_model.onnx, optimizer_model.onnx,
train_step_model.onnx, eval_model.onnx, inference_model.onnx, checkpoint.ckpt (safetensors, PyTorch
state_dict names) and manifest.json. Every gradient is made of standard ONNX ops (opset 17).`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> --model 1 --loss 9',
    '<%= config.bin %> <%= command.id %> --model UNet_dilate --loss tversky_loss_alpha_0.10 --image-size 128 --width 0.25',
    '<%= config.bin %> <%= command.id %> --list',
  ];
  static override flags = {
    model: Flags.string({ char: 'm', summary: `Network: ${modelList()} (number or name).` }),
    loss: Flags.string({ char: 'l', summary: 'Loss: number or name (see --list).' }),
    'image-size': Flags.integer({ summary: 'Side of the square network input, a multiple of 32.', default: RECIPES.melseg.imageSize, aliases: ['image_size'] }),
    width: Flags.string({ summary: 'Channel width multiplier (1 = the study; 0.25 = CPU-sized).', default: String(RECIPES.melseg.width) }),
    out: Flags.string({ char: 'o', summary: 'Output folder (default graphs/<Model>_<loss>[_s<S>_w<W>]).' }),
    seed: Flags.integer({ summary: 'Seed of the initial weights.', default: 0 }),
    list: Flags.boolean({ summary: 'Print the model and loss tables.' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(BuildGraph);
    if (flags.list) {
      this.log(`${modelTable()}\n\n${lossTable()}`);
      return;
    }
    if (flags.model === undefined || flags.loss === undefined) this.error(`--model and --loss are required (see --list):\n\n${modelTable()}\n\n${lossTable()}`);
    const c = resolveConfig({ model: flags.model, loss: flags.loss, imageSize: flags['image-size'], width: positiveNumber('width', flags.width), seed: flags.seed });
    const r = await writeGraphs(c, flags.out, { log: (s) => this.log(s) });
    const ckpt = path.join(r.dir, 'checkpoint.ckpt');
    await saveCheckpoint(ckpt, initialCheckpoint(c, parameterSpecs(c)));
    r.files.push({ file: 'checkpoint.ckpt', bytes: fs.statSync(ckpt).size });
    const m = r.manifest;
    this.log(`${m.model.name} x ${m.loss.name}, image ${m.imageSize}, width ${m.width}: ${m.parameterCount.toLocaleString('en-US')} trainable parameters`);
    for (const f of r.files) this.log(`  ${f.file.padEnd(26)} ${(f.bytes / 1024).toFixed(1).padStart(10)} KiB${f.nodes ? `  ${f.nodes} nodes` : ''}`);
    this.log(`wrote ${r.dir} in ${r.seconds.toFixed(2)} s`);
  }
}
