/**
 * A foreign state_dict's tensors (name, file dtype, shape) against a network's parameters: every
 * mismatch at once (missing, unexpected, wrong shape, wrong dtype), the conversions that make the rest
 * fit, and a guess of which network and width the tensors belong to, for defaults and for the fix.
 */
import { parameterSpecs, resolveConfig } from '../graphs';
import { MODELS, type ModelDef } from '../models';
import type { ParamSpec } from '../models/builder';
import { conversion, FILE_DTYPE, type Conversion } from './dtypes';

export interface EntryInfo {
  name: string;
  /** The file's dtype name (F32, F16, I64, ...). */
  dtype: string;
  shape: number[];
}

export type ProblemKind = 'missing' | 'unexpected' | 'shape' | 'dtype';

export interface Problem {
  kind: ProblemKind;
  name: string;
  /** One line: the tensor, what the network expects and what the file holds. */
  text: string;
}

export interface Match {
  problems: Problem[];
  /** Tensors read from the file, with the conversion each needs (same, exact, rounds). */
  read: { name: string; from: string; to: ParamSpec['dtype']; conversion: Conversion }[];
  /** num_batches_tracked counters absent from the file: written as 0 (momentum 0.1 never reads them). */
  zeroCounters: string[];
}

const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;
const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
const COUNTER = '.num_batches_tracked';

/** Why a dtype cannot be converted, and what to do in PyTorch. */
function dtypeFix(spec: ParamSpec, found: string): string {
  if (spec.dtype === 'int64') return `a counter, expected an integer dtype (I64), found ${found}; save it as v.long() in PyTorch`;
  if (/^[IU]\d+$|^BOOL$/.test(found))
    return `expected a floating dtype (F32, or F16 / BF16 / F64, converted), found ${found}: integer weights are quantised; dequantise them in PyTorch (v.dequantize() or v.float() times the scale) and save again`;
  return `expected F32 (or F16 / BF16 / F64, converted), found ${found}; save it as v.float() in PyTorch`;
}

/**
 * Compare. Problems come in the network's parameter order, unexpected tensors after them in the
 * file's order; a counter missing from the file is not a problem (older PyTorch did not save them).
 */
export function matchStateDict(entries: readonly EntryInfo[], specs: readonly ParamSpec[]): Match {
  const byName = new Map(entries.map((e) => [e.name, e]));
  const problems: Problem[] = [];
  const read: Match['read'] = [];
  const zeroCounters: string[] = [];
  for (const p of specs) {
    const e = byName.get(p.name);
    const want = `${FILE_DTYPE[p.dtype]} ${fmt(p.shape)}`;
    if (!e) {
      if (p.dtype === 'int64' && p.name.endsWith(COUNTER)) zeroCounters.push(p.name);
      else problems.push({ kind: 'missing', name: p.name, text: `missing     ${p.name}: the network has ${want}, the file has no such tensor` });
      continue;
    }
    const conv = conversion(e.dtype, p.dtype);
    if (!sameShape(e.shape, p.shape))
      problems.push({ kind: 'shape', name: p.name, text: `wrong shape ${p.name}: the network has ${fmt(p.shape)}, the file has ${fmt(e.shape)}` });
    if (conv === null) problems.push({ kind: 'dtype', name: p.name, text: `wrong dtype ${p.name}: ${dtypeFix(p, e.dtype)}` });
    if (conv !== null && sameShape(e.shape, p.shape)) read.push({ name: p.name, from: e.dtype, to: p.dtype, conversion: conv });
  }
  const known = new Set(specs.map((p) => p.name));
  for (const e of entries)
    if (!known.has(e.name)) problems.push({ kind: 'unexpected', name: e.name, text: `unexpected  ${e.name}: ${e.dtype} ${fmt(e.shape)} is in the file but not in the network` });
  return { problems, read, zeroCounters };
}

export interface Guess {
  model: ModelDef;
  width: number;
}

/**
 * The first convolution of each family and its output channels at width 1: the study's networks
 * (conv1.0, 64) and EGE-UNet (encoder1.0, 8). EGE-UNet rounds its channels to multiples of 4, so
 * below width 1/2 several widths give the same tensors: those need --width.
 */
const FIRST_CONVS: readonly [string, number][] = [['conv1.0.weight', 64], ['encoder1.0.weight', 8]];

/**
 * The network and width whose parameters the tensors fit exactly, or null. The width comes from the
 * first convolution's output channels (base = round(64 w), so w = base / 64 for the study's
 * networks); the network is the one whose state_dict then matches every name, shape and convertible
 * dtype. Image size plays no part: no parameter's shape depends on it (UNet_dilate's dilations do,
 * but they are not stored).
 */
export function guessNetwork(entries: readonly EntryInfo[]): Guess | null {
  const hit = FIRST_CONVS.map(([name, full]) => [entries.find((e) => e.name === name), full] as const).find(([e]) => e);
  const [first, full] = hit ?? [undefined, 1];
  if (!first || first.shape.length !== 4 || first.shape[1] !== 3 || !(first.shape[0] >= 1)) return null;
  const width = first.shape[0] / full;
  for (const model of MODELS) {
    const specs = parameterSpecs(resolveConfig({ model: model.id, loss: 0, imageSize: 256, width }));
    if (matchStateDict(entries, specs).problems.length === 0) return { model, width };
  }
  return null;
}
