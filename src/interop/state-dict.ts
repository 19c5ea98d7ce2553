/**
 * A state_dict saved by PyTorch as safetensors (safetensors.torch.save_file(model.state_dict(), f)),
 * read without trusting it: pickles are recognised and refused before anything else, the header is
 * checked as strictly as melseg's own checkpoints (bounds, layout) but accepts every dtype the format
 * defines, so that the importer can list every tensor that does not fit instead of stopping at the
 * first; tensors are then read one at a time and converted to F32 / I64.
 */
import * as fs from 'fs';
import { readSafetensorsHeader, SafetensorsError, withFileSource, type SafeTensor, type SafetensorsHeader, type TensorEntry } from '../checkpoint/safetensors';
import { toFloat32, toInt64 } from './dtypes';
import type { Match } from './match';
import { pickleRefusal, sniffPickle } from './pickle';

/** Bytes the pickle sniffer looks at (a zip entry's name starts at 30). */
const HEAD_BYTES = 256;

export interface ForeignHeader {
  file: string;
  metadata: Record<string, string>;
  entries: TensorEntry[];
  /** File offset of the tensor data. */
  dataStart: number;
}

/**
 * The header of `file`. `next` gives the command to run on a converted file (for the pickle refusal);
 * `flag` names where the path came from (--state-dict) in messages.
 */
export function readForeignHeader(file: string, flag: string, next: (converted: string) => string): ForeignHeader {
  if (!fs.existsSync(file)) throw new Error(`${flag} ${file}: no such file; check the path (a safetensors file saved by safetensors.torch.save_file(model.state_dict(), path))`);
  return withFileSource(file, 'state_dict', (src) => {
    const head = new Uint8Array(Math.min(HEAD_BYTES, src.size));
    src.read(head, 0);
    const sniff = sniffPickle(head);
    if (sniff) throw pickleRefusal(file, sniff, next);
    let h: SafetensorsHeader;
    try {
      h = readSafetensorsHeader(src, file, { anyDtype: true });
    } catch (e) {
      if (e instanceof SafetensorsError && (e.code === 'HEADER_TOO_LARGE' || e.code === 'BAD_HEADER' || e.code === 'BAD_JSON'))
        throw new Error(`${flag} ${file}: expected a safetensors file (8-byte header length, then a JSON header), found something else (${e.message.replace(`${file}: `, '')}). Save the weights with safetensors.torch.save_file(model.state_dict(), path), or convert a .pth as docs/pytorch.md shows`);
      if (e instanceof SafetensorsError && e.code === 'TRUNCATED')
        throw new Error(`${flag} ${file}: the file is incomplete (${e.message.replace(`${file}: `, '').replace(/;.*$/, '')}); it was cut off while being written or copied: save or copy it again`);
      throw e;
    }
    return { file, metadata: h.metadata, entries: h.entries, dataStart: h.dataStart };
  });
}

/** The tensors `match.read` lists, converted, under their names; the missing counters as 0. */
export function readForeignTensors(h: ForeignHeader, match: Match, rename: (fileName: string) => string): Record<string, SafeTensor> {
  const byName = new Map(h.entries.map((e) => [rename(e.name), e]));
  const out: Record<string, SafeTensor> = {};
  withFileSource(h.file, 'state_dict', (src) => {
    for (const r of match.read) {
      const e = byName.get(r.name)!;
      const raw = new Uint8Array(e.end - e.begin);
      src.read(raw, h.dataStart + e.begin);
      if (r.to === 'float32') {
        out[r.name] = { dtype: 'float32', shape: [...e.shape], data: toFloat32(e.dtype, raw) };
      } else {
        const data = toInt64(e.dtype, raw);
        if (!data) throw new Error(`${h.file}: tensor "${e.name}" (${e.dtype}) holds a count above 2^63 - 1; the file is damaged: save the state_dict again`);
        out[r.name] = { dtype: 'int64', shape: [...e.shape], data };
      }
    }
  });
  for (const name of match.zeroCounters) out[name] = { dtype: 'int64', shape: [], data: BigInt64Array.of(0n) };
  return out;
}
