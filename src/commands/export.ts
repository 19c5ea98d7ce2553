import { Flags } from '@oclif/core';
import { MelsegCommand } from '../cli/command';
import { exportCheckpoint } from '../export';
import { inferenceFlags, inferenceRequest } from '../infer/flags';
import { SHIPPED_MODEL } from '../infer/model';
import { describeSettings } from '../infer/settings';

export default class Export extends MelsegCommand {
  static override summary = 'Export a checkpoint as one self-contained ONNX file, and/or a web page that segments images in the browser.';
  static override description =
    'The file holds the weights, BatchNorm folded into the convolutions and the ImageNet normalisation (opset 17): input image float32 [N,3,S,S] ' +
    '(RGB in 0..1, resized to S x S), output probability [N,1,S,S]; its metadata_props say the model, loss, image size, width, recipe and ' +
    'inference settings. --web DIR writes index.html, the model and onnxruntime-web (WebAssembly and WebGPU builds; the page uses WebGPU where the browser has an adapter): serve DIR (e.g. python3 -m http.server) ' +
    'and open it; index.html?image=NAME segments the image NAME beside it. Inference settings for the page: flags > --preset > the checkpoint\'s own settings > raw.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> --checkpoint best.ckpt --out model.onnx',
    '<%= config.bin %> <%= command.id %> --checkpoint best.ckpt --web lesion-page/ --preset best',
    '<%= config.bin %> <%= command.id %> --checkpoint best.ckpt --out model-fp16.onnx --fp16',
  ];
  static override flags = {
    checkpoint: Flags.string({ char: 'c', summary: `A best.ckpt written by melseg train (default: the model shipped with melseg, ${SHIPPED_MODEL}).` }),
    out: Flags.string({ char: 'o', summary: 'The ONNX file to write, e.g. model.onnx.' }),
    web: Flags.string({ summary: 'Write a static web page that segments images in the browser into this folder.' }),
    force: Flags.boolean({ summary: 'Replace an existing --out file, or the page files of an earlier export in --web (never the checkpoint itself).', default: false }),
    trainable: Flags.boolean({ summary: 'With --web: add the train step, so the page can fine-tune the model on your own images and masks and download the result as a checkpoint.', default: false }),
    fp16: Flags.boolean({ summary: 'Store the weights as float16: half the file, computed in float32 (see README for the measured IoU change).', default: false }),
    ...inferenceFlags,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Export);
    const r = await exportCheckpoint({ checkpoint: flags.checkpoint, out: flags.out, web: flags.web, trainable: flags.trainable, fp16: flags.fp16, force: flags.force, inference: inferenceRequest(flags) });
    const c = r.model.config;
    this.log(`checkpoint ${r.checkpoint}: ${c.model.name} x ${c.loss.name}, ${c.imageSize} px, width ${c.width}; ${r.model.nodes} nodes (${r.model.ops.join(', ')})`);
    this.log(`settings: ${describeSettings({ ...r.model.settings, origin: r.model.origin })}`);
    for (const f of r.files) this.log(`  ${f.file}  ${(f.bytes / 1024).toFixed(1)} KiB`);
    if (flags.web) this.log(`serve the folder and open it, e.g.: cd ${flags.web} && python3 -m http.server 8000  (then http://localhost:8000/)`);
  }
}
