/**
 * Resource bounds of a training run, decided before anything is decoded or trained: augmentation
 * workers at most the cores this process may use, and a batch whose training step fits the memory
 * this process may use.
 */
import type { ResolvedConfig } from '../graphs';
import { forward } from '../models';
import { Graph } from '../onnx/graph';
import { availableCores, availableMemory } from '../util/machine';

/**
 * Workers actually started: a whole number >= 0 (0 = the main thread), at most the cores this process
 * may use (more threads than cores only add memory and switching: 1000 workers took 6.8 GB and 16x the
 * time). Above that, the cores are used and `note` says so.
 */
export function resolveWorkers(asked: number, cores = availableCores(), note: (line: string) => void = () => {}): number {
  if (!Number.isInteger(asked) || asked < 0)
    throw new Error(`--workers ${asked}: expected a whole number from 0 (augment on the main thread) to ${cores} (the CPU cores this process may use), e.g. --workers 1`);
  if (asked <= cores) return asked;
  note(`note: --workers ${asked} is more than the ${cores} CPU core(s) this process may use; using ${cores} worker(s)`);
  return cores;
}

/**
 * Bytes one image adds to a training step, at least: 1.5 x the float32 size of every 4-D value of the
 * forward graph (activations kept for the backward pass, and their gradients). Measured peaks (less a
 * 0.3 GiB tiny run) per image: 1.5x for UNet_dilate 256 px, width 1, batch 2 (2.16 GiB, README "Speed
 * and memory"); 2.9x at 64 px, width 1, batch 16 (1.96 GiB). The lower factor is used so that only a
 * batch that cannot fit is refused (there is no flag to override the refusal); the study's recipe
 * (256 px, batch 25: about 21 GiB) stays allowed where it does fit.
 */
export function trainBytesPerImage(c: ResolvedConfig): number {
  const g = new Graph('memory-estimate');
  forward(g, c.model, 'train', c.imageSize, c.width);
  let elements = 0;
  for (const n of g.nodes)
    for (const o of n.outputs) {
      const shape = g.value(o).shape;
      if (shape.length === 4) elements += shape.reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1);
    }
  return 1.5 * 4 * elements;
}

const gib = (b: number) => (b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(1)} GiB` : `${Math.max(1, Math.round(b / 2 ** 20))} MiB`);

/**
 * The largest batch of a training step is min(--batch-size, training images); refuse it when its
 * estimated memory exceeds what this process may use, naming the batch that fits.
 */
export function checkBatchMemory(c: ResolvedConfig, batchSize: number, trainCount: number, available = availableMemory(), perImage = trainBytesPerImage(c)): number {
  const batch = Math.min(batchSize, trainCount);
  const need = batch * perImage;
  if (need <= available) return batch;
  const fits = Math.floor(available / perImage);
  const which = batch < batchSize ? `--batch-size ${batchSize} (a batch of all ${batch} training images)` : `--batch-size ${batchSize}`;
  throw new Error(
    `${which} at ${c.imageSize} px, width ${c.width} needs about ${gib(need)} per training step (${gib(perImage)} per image), ` +
      `but this process can use ${gib(available)} (available memory${fits > 0 ? '' : ', not enough for one image'}). ` +
      (fits > 0 ? `Use --batch-size ${fits} or less, or a smaller --image-size or --width.` : 'Use a smaller --image-size or --width, or free memory.'),
  );
}

/**
 * The training images of a run given --limit N: the first N ids of the train split (in the split's
 * order, so the same N images for every seed of one split); all of them when N is absent or not smaller.
 */
export function limitTrain(train: readonly string[], limit: number | undefined, note: (line: string) => void = () => {}): string[] {
  if (limit === undefined) return [...train];
  if (limit >= train.length) {
    note(`note: --limit ${limit} is not fewer than the ${train.length} training images: training on all of them`);
    return [...train];
  }
  note(`limit: training on the first ${limit} of the ${train.length} training images (--limit ${limit}); the valid split stays whole`);
  return train.slice(0, limit);
}
