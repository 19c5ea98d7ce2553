/**
 * The page's fine-tuning panel (pages exported with --trainable): the user's images and masks
 * (loaded as files, or drawn over the images: web/draw.ts), N
 * steps of the exported train step on the page's backend (src/export/finetune.ts: the same feeds
 * and updates as src/train), the loss per step and a progress bar; then the page segments with the
 * adapted weights (inference.onnx) and offers them as a melseg checkpoint.
 *
 * For scripts, <body data-finetune> is running, done or error; when done, data-losses holds the
 * losses of the last run's steps and data-step-ms their times (JSON; the page's first step also
 * creates the session and runs the first time, which on WebGPU compiles its shaders).
 */
import { IMAGENET_MEAN, IMAGENET_STD } from '../src/data/tensor';
import type { Image, Mask } from '../src/data/image';
import { batchOf, FineTuner, type TrainableInfo } from '../src/export/finetune';
import type { Network } from '../src/infer/tta';
import { MaskDrawer } from './draw';

type Ort = typeof import('onnxruntime-web');
type Session = import('onnxruntime-web').InferenceSession;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

export interface PanelOptions {
  ort: Ort;
  backend: string;
  decode(blob: Blob, name: string): Promise<Image>;
  fetchBytes(url: string, what: string): Promise<ArrayBuffer>;
  /** called with the network of the adapted weights (value / 255 in, probabilities out) */
  adapted(net: Network): void;
}

/** A mask file as 0/1: white (grey >= 128) is lesion, as melseg's mask decoder reads 0/255 masks. */
function maskOf(img: Image): Mask {
  const data = new Uint8Array(img.width * img.height);
  for (let i = 0; i < data.length; i++) data[i] = img.data[i * 3] >= 128 ? 1 : 0;
  return { data, width: img.width, height: img.height };
}

const byName = (files: FileList | null) => Array.from(files ?? ([] as unknown as FileList)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

export async function fineTunePanel(o: PanelOptions): Promise<void> {
  const info = JSON.parse(new TextDecoder().decode(await o.fetchBytes('trainable.json', 'the fine-tuning description'))) as TrainableInfo;
  const tuner = FineTuner.fromBytes(new Uint8Array(await o.fetchBytes('start.ckpt', 'the starting checkpoint')), 'start.ckpt', info);
  const S = info.imageSize;
  const make = (data: Float32Array, dims: readonly number[]) => new o.ort.Tensor('float32', data, [...dims]);
  let step: Session | null = null;
  let infer: Session | null = null;
  let url = '';
  $<HTMLInputElement>('ft-lr').value = String(info.lr);
  $('finetune').hidden = false;
  const drawer = new MaskDrawer();
  const decodeAll = (files: File[]) => Promise.all(files.map(async (f) => ({ name: f.name, image: await o.decode(f, f.name) })));
  $('ft-images').addEventListener('change', () => drawer.reset());
  $('ft-draw').addEventListener('click', () => {
    const images = byName($<HTMLInputElement>('ft-images').files);
    if (!images.length) $('ft-message').textContent = 'choose your images first, then draw a mask on each';
    else void decodeAll(images).then((d) => drawer.start(d), (e: Error) => ($('ft-message').textContent = e.message));
  });

  /** The masks to train on: the mask files (paired with the images in name order), else the drawn ones. */
  const masksFor = async (images: { name: string; image: Image }[]): Promise<Mask[]> => {
    const files = byName($<HTMLInputElement>('ft-masks').files);
    if (!files.length) {
      const d = drawer.drawn();
      if (!d) throw new Error('no masks: choose a mask file per image, or press "draw the masks" and outline each lesion');
      if ('missing' in d) throw new Error(`${d.missing}: no mask drawn yet; outline its lesion (click around it, then on the first point again), or choose mask files`);
      return d.masks;
    }
    if (files.length !== images.length) throw new Error(`choose as many masks as images (found ${images.length} images and ${files.length} masks), or none and draw them`);
    return Promise.all(
      files.map(async (f, i) => {
        const mask = maskOf(await o.decode(f, f.name));
        const { name, image } = images[i];
        if (mask.width !== image.width || mask.height !== image.height) throw new Error(`${f.name} is ${mask.width} x ${mask.height}, but its image ${name} is ${image.width} x ${image.height}: a mask must have its image's size`);
        return mask;
      }),
    );
  };

  const run = async () => {
    const message = $('ft-message');
    const list = $('ft-losses');
    const progress = $<HTMLProgressElement>('ft-progress');
    document.body.dataset.finetune = 'running';
    delete document.body.dataset.losses;
    delete document.body.dataset.stepMs;
    try {
      const files = byName($<HTMLInputElement>('ft-images').files);
      if (!files.length) throw new Error('choose your images first, and their masks (files, or drawn with "draw the masks")');
      const steps = Number($<HTMLInputElement>('ft-steps').value);
      const lr = Number($<HTMLInputElement>('ft-lr').value);
      if (!Number.isInteger(steps) || steps < 1) throw new Error(`steps: expected a whole number of at least 1, found '${$<HTMLInputElement>('ft-steps').value}'`);
      if (!(lr > 0)) throw new Error(`learning rate: expected a number above 0, e.g. ${info.lr}, found '${$<HTMLInputElement>('ft-lr').value}'`);
      const images = await decodeAll(files);
      const masks = await masksFor(images);
      const pairs = images.map(({ image }, i) => ({ image, mask: masks[i] }));
      const batch = batchOf(pairs, S);
      message.textContent = `Fine-tuning on ${pairs.length} image${pairs.length > 1 ? 's' : ''}…`;
      const started = performance.now();
      step ??= await o.ort.InferenceSession.create('train_step.onnx', { executionProviders: [o.backend], logSeverityLevel: 3 });
      list.textContent = '';
      progress.value = 0;
      const losses: number[] = [];
      const stepMs: number[] = [];
      for (let i = 0; i < steps; i++) {
        const t0 = i ? performance.now() : started;
        const loss = tuner.absorb((await step.run(tuner.stepFeeds(make, batch, lr))) as Record<string, { data: unknown }>);
        stepMs.push(performance.now() - t0);
        if (!Number.isFinite(loss)) throw new Error(`step ${i + 1}: the loss is ${loss}; try a lower learning rate (now ${lr})`);
        losses.push(loss);
        const li = document.createElement('li');
        li.textContent = `loss ${loss.toFixed(4)}`;
        list.appendChild(li);
        progress.value = (i + 1) / steps;
      }
      infer ??= await o.ort.InferenceSession.create('inference.onnx', { executionProviders: [o.backend], logSeverityLevel: 3 });
      const session = infer;
      o.adapted(async (images, count) => {
        // inference.onnx takes the image normalised as training feeds it: (v - mean) / std per channel
        const x = new Float32Array(images.length);
        const plane = S * S;
        for (let i = 0; i < images.length; i++) {
          const c = Math.floor(i / plane) % 3;
          x[i] = (images[i] - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
        }
        const out = await session.run({ ...tuner.inferenceFeeds(make), image: make(x, [count, 3, S, S]) });
        return out.probability.data as Float32Array;
      });
      if (url) URL.revokeObjectURL(url);
      url = URL.createObjectURL(new Blob([tuner.checkpointBytes({ finetuned: `${tuner.step} AdamW steps in total; the last ${steps} in the page on ${pairs.length} images, lr ${lr}` }) as Uint8Array<ArrayBuffer>]));
      const a = $<HTMLAnchorElement>('ft-download');
      a.href = url;
      a.hidden = false;
      message.textContent = `Fine-tuned: ${steps} steps, loss ${losses[0].toFixed(4)} -> ${losses[losses.length - 1].toFixed(4)}. New images are segmented with the adapted weights.`;
      document.body.dataset.losses = JSON.stringify(losses);
      document.body.dataset.stepMs = JSON.stringify(stepMs.map((t) => Math.round(t)));
      document.body.dataset.finetune = 'done';
    } catch (e) {
      message.textContent = (e as Error).message;
      document.body.dataset.finetune = 'error';
    }
  };
  $('ft-run').addEventListener('click', () => void run());
}
