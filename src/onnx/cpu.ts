/** What this CPU offers onnxruntime's kernels: its vector ISA and the NCHWc block size. */
import * as fs from 'fs';
import * as ort from 'onnxruntime-node';
import { Graph } from './graph';
import { serialize } from './proto';

export type Isa = 'AVX-512' | 'AVX2' | 'other';

/** The widest x86 vector extension MLAS (onnxruntime's CPU kernels) uses here, from /proc/cpuinfo's flags. */
export function cpuIsa(cpuinfo?: string): Isa {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = fs.readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return 'other';
    }
  }
  const flags = new Set((/^flags\s*:(.*)$/m.exec(text)?.[1] ?? '').trim().split(/\s+/));
  // MLAS switches to its AVX-512 kernels (and NCHWc block 16) on AVX512F alone
  if (flags.has('avx512f')) return 'AVX-512';
  if (flags.has('avx2') && flags.has('fma')) return 'AVX2';
  return 'other';
}

let blockSize: Promise<number> | undefined;

/**
 * The NCHWc block size of this CPU in onnxruntime (16 with AVX-512, 8 with AVX2; 0 where the
 * com.microsoft.nchwc kernels are missing), read from the runtime itself: ReorderInput pads 4
 * channels up to one block.
 */
export function nchwcBlockSize(): Promise<number> {
  blockSize ??= (async () => {
    try {
      const g = new Graph('nchwc_probe');
      // the blocked tensor's shape, read as data (its declared shape would not be known here)
      g.output(g.op1('Shape', [g.op1('ReorderInput', [g.input('x', [1, 4, 1, 1])], { _block: 4 })]), 'shape');
      const s = await ort.InferenceSession.create(serialize(g));
      const r = await s.run({ x: new ort.Tensor('float32', new Float32Array(4), [1, 4, 1, 1]) });
      await s.release();
      return Number(r.shape.data[1]);
    } catch {
      return 0;
    }
  })();
  return blockSize;
}
