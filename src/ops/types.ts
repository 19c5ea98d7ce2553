/**
 * The format of an op rule file. Each file in src/ops exports one `OpDef` (or a family sharing one
 * rule) made with `op<Inputs>({...})`, where `Inputs` is the tuple of its operands:
 * - `inputs`: the operand names, in ONNX order; a trailing '?' marks an optional operand (null when
 *   absent), a trailing '...' a variadic one (one or more). Graph.op checks every node against it, so
 *   the rules below receive the operands their tuple type promises.
 * - `shape`: output shapes and dtypes from the operands and attributes (symbolic dims pass through);
 * - `grad`: the reverse-mode rule, emitting forward ops only. It receives `dy`, the gradient of output
 *   0 (the walker calls it only when that gradient exists; it refuses a gradient that reaches another
 *   output), and returns one gradient per operand (null = none).
 * - `gradOutputs`: instead of `grad`, for ops whose every output may carry a gradient (Split): `dOut`
 *   holds one gradient per output, null where none reaches it.
 * - `lower`: for composite ops of the `melseg` domain only, their expansion into standard ONNX ops.
 */
import type { Attrs, AttrValue, DType, Graph, Shape, Value } from '../onnx/graph';

export interface OutInfo {
  shape: Shape;
  dtype: DType;
}

export type Operand = Value | null;
export type Grad = Value | null;

export interface GradContext<In extends Operand[]> {
  g: Graph;
  inputs: In;
  outputs: Value[];
  attrs: Attrs;
  /** the gradient of output 0 */
  dy: Value;
}

export interface MultiGradContext<In extends Operand[]> {
  g: Graph;
  inputs: In;
  outputs: Value[];
  attrs: Attrs;
  /** one gradient per output; null where none reaches it */
  dOut: Grad[];
}

export interface OpDef<In extends Operand[] = Operand[]> {
  /** '' (standard ONNX, the default), 'melseg' (composite: has `lower`), or an onnxruntime contrib domain */
  domain?: string;
  /** the op type written to the file, where the registry key differs (contrib ops named like standard ones) */
  onnxType?: string;
  /** operand names in ONNX order: 'X', 'B?' (optional), 'inputs...' (variadic) */
  inputs: readonly string[];
  shape(inputs: In, attrs: Attrs, g: Graph): OutInfo[];
  grad?(ctx: GradContext<In>): Grad[];
  gradOutputs?(ctx: MultiGradContext<In>): Grad[];
  lower?(g: Graph, inputs: In, attrs: Attrs): Value[];
}

/** Typed constructor of an op rule: `op<[x: Value, b: Value | null]>({ inputs: ['X', 'B?'], ... })`. */
export function op<In extends Operand[]>(def: OpDef<In>): OpDef<In> {
  return def;
}

/** Whether `operands` fit the declared operand list; else what is wrong, in words. */
export function checkOperands(spec: readonly string[], operands: readonly Operand[]): string | undefined {
  const variadic = spec.length > 0 && spec[spec.length - 1].endsWith('...');
  const max = variadic ? Infinity : spec.length;
  if (operands.length > max) return `${operands.length} operands, at most ${max} expected (${spec.join(', ')})`;
  for (let i = 0; i < Math.max(spec.length, operands.length); i++) {
    const name = spec[Math.min(i, spec.length - 1)];
    if (name.endsWith('?')) continue;
    if (!operands[i]) return `operand ${i} (${name.replace('...', '')}) is required`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Attribute readers: a default when absent, a clear error when the value has the wrong type.
// ---------------------------------------------------------------------------------------------

function wrongType(key: string, expected: string, v: AttrValue): never {
  throw new Error(`attribute '${key}' = ${JSON.stringify(v)}: expected ${expected}`);
}

export function int(attrs: Attrs, key: string, dflt: number): number {
  const v = attrs[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v)) wrongType(key, 'an integer', v);
  return v;
}

export function float(attrs: Attrs, key: string, dflt: number): number {
  const v = attrs[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'number') wrongType(key, 'a number', v);
  return v;
}

export function ints(attrs: Attrs, key: string, dflt: number[]): number[] {
  const v = attrs[key];
  if (v === undefined) return dflt;
  if (!Array.isArray(v) || !v.every((x): x is number => typeof x === 'number' && Number.isInteger(x))) wrongType(key, 'a list of integers', v);
  return v;
}

/** A required integer (no default: the op's rule cannot guess it). */
export function intRequired(op: string, attrs: Attrs, key: string): number {
  if (attrs[key] === undefined) throw new Error(`${op}: attribute '${key}' is required by melseg's rule for ${op}`);
  return int(attrs, key, 0);
}

/** A required list of integers. */
export function intsRequired(op: string, attrs: Attrs, key: string): number[] {
  if (attrs[key] === undefined) throw new Error(`${op}: attribute '${key}' is required by melseg's rule for ${op}`);
  return ints(attrs, key, []);
}

export function str(attrs: Attrs, key: string, dflt: string): string {
  const v = attrs[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'string') wrongType(key, 'a string', v);
  return v;
}

export function unsupported(op: string, what: string, value: unknown): never {
  throw new Error(`${op}: ${what} = ${JSON.stringify(value)} is not supported by melseg's rule for ${op}`);
}
