/**
 * The format of an op rule file. Each file in src/ops exports one `OpDef` (or a family of them) with:
 * - `shape`: output shapes and dtypes from input values and attributes (symbolic dims pass through);
 * - `grad`: the reverse-mode rule, emitting forward ops only, given the output gradients
 *   (null where an output has no gradient); returns one gradient per input (null = none);
 * - `lower`: for composite ops of the `melseg` domain only, their expansion into standard ONNX ops.
 */
import type { Attrs, DType, Graph, Node, Shape, Value } from '../onnx/graph';

export interface OutInfo {
  shape: Shape;
  dtype: DType;
}

export interface GradContext {
  g: Graph;
  node: Node;
  inputs: (Value | null)[];
  outputs: Value[];
  dOut: (Value | null)[];
  attrs: Attrs;
}

export interface OpDef {
  /** '' (standard ONNX, the default), 'melseg' (composite: has `lower`), or an onnxruntime contrib domain */
  domain?: string;
  /** the op type written to the file, where the registry key differs (contrib ops named like standard ones) */
  onnxType?: string;
  shape(inputs: (Value | undefined)[], attrs: Attrs, g: Graph): OutInfo[];
  grad?(ctx: GradContext): (Value | null)[];
  lower?(g: Graph, inputs: (Value | null)[], attrs: Attrs): Value[];
}

/** Attribute helpers: read with a default, and reject what a rule does not support, naming it. */
export function attrInt(attrs: Attrs, key: string, dflt: number): number {
  const v = attrs[key];
  return v === undefined ? dflt : (v as number);
}

export function attrInts(attrs: Attrs, key: string, dflt: number[]): number[] {
  const v = attrs[key];
  return v === undefined ? dflt : (v as number[]);
}

export function unsupported(op: string, what: string, value: unknown): never {
  throw new Error(`${op}: ${what} = ${JSON.stringify(value)} is not supported by melseg's rule for ${op}`);
}
