/**
 * `melseg train --dump-batches DIR`: everything another trainer needs to replay this run on identical
 * data (scripts/torch_train.py --batches DIR), so that the graphs and optimizer can be compared apart
 * from the data pipeline:
 *   DIR/recipe.json                         the run's settings, with model/loss names
 *   DIR/initial.ckpt                        the initial weights (safetensors, state_dict names)
 *   DIR/valid.image.npy, valid.mask.npy     the validation set as the network sees it, valid.ids.json
 *   DIR/train/eEEE-bBBBB.image.npy, .mask.npy   every training batch in order (epochs 1-based, batches 0-based)
 * Arrays are NumPy .npy v1.0 files: float32, C order, [n,3,S,S] images (normalised), [n,1,S,S] masks.
 */
import * as path from 'path';
import { writeFileAtomic } from '../util/atomic';

/** An .npy file's bytes (format 1.0: magic, header length, a Python dict literal padded to 64 bytes). */
export function npy(data: Float32Array, shape: readonly number[]): Uint8Array[] {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const unpadded = 10 + dict.length + 1;
  const header = dict + ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  return [pre, Buffer.from(header, 'latin1'), new Uint8Array(data.buffer, data.byteOffset, data.byteLength)];
}

export class BatchDump {
  constructor(readonly dir: string) {}

  async recipe(info: object): Promise<void> {
    await writeFileAtomic(path.join(this.dir, 'recipe.json'), JSON.stringify(info, null, 2) + '\n');
  }

  async array(name: string, data: Float32Array, shape: readonly number[]): Promise<void> {
    await writeFileAtomic(path.join(this.dir, `${name}.npy`), npy(data, shape));
  }

  async batch(epoch: number, batch: number, image: Float32Array, mask: Float32Array, n: number, S: number): Promise<void> {
    const stem = `train/e${String(epoch).padStart(3, '0')}-b${String(batch).padStart(4, '0')}`;
    await this.array(`${stem}.image`, image, [n, 3, S, S]);
    await this.array(`${stem}.mask`, mask, [n, 1, S, S]);
  }
}
