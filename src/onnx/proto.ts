/** Serialise the graph IR to an ONNX ModelProto (onnx-proto / protobufjs), opset 17. */
import { onnx } from 'onnx-proto';
import type { Graph, Shape, TensorData, Value } from './graph';
import { isTensorData, onnxOpType } from './graph';
import { DTYPE_CODE } from './dtype';

export const OPSET = 17;
const IR_VERSION = 8;

/** Attributes that are floats even when their value happens to be an integer. */
const FLOAT_ATTRS = new Set(['epsilon', 'alpha', 'beta', 'gamma', 'momentum', 'cubic_coeff_a', 'extrapolation_value']);

function tensorProto(name: string, t: TensorData): onnx.ITensorProto {
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return { name, dims: t.shape, dataType: DTYPE_CODE[t.dtype], rawData: bytes };
}

function typeProto(shape: Shape, dtype: Value['dtype']): onnx.ITypeProto {
  return {
    tensorType: {
      elemType: DTYPE_CODE[dtype],
      shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
    },
  };
}

function attribute(name: string, v: unknown): onnx.IAttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') {
    return FLOAT_ATTRS.has(name) ? { name, type: A.FLOAT, f: v } : { name, type: A.INT, i: v };
  }
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) return { name, type: A.STRINGS, strings: v.map((s) => new TextEncoder().encode(s as string)) };
    return { name, type: A.INTS, ints: v as number[] };
  }
  if (isTensorData(v)) return { name, type: A.TENSOR, t: tensorProto('', v) };
  throw new Error(`proto: attribute '${name}' has an unsupported value ${String(v)}`);
}

export interface SerializeOptions {
  /** Declare every intermediate shape (value_info) so a checker can compare them with its inference. */
  valueInfo?: boolean;
  docString?: string;
  /** The model's metadata_props (key -> text), e.g. what an exported model was trained as. */
  metadata?: Record<string, string>;
}

/** Opset versions of the onnxruntime contrib domains melseg's passes emit (src/passes). */
const CONTRIB_OPSETS: Record<string, number> = { 'com.microsoft': 1, 'com.microsoft.nchwc': 1 };

function toModelProto(g: Graph, opts: SerializeOptions = {}): onnx.ModelProto {
  const domains = new Set(g.nodes.map((n) => n.domain).filter((d) => d in CONTRIB_OPSETS));
  const declared = new Set([...g.inputs, ...g.outputs].map((v) => v.name));
  const graph: onnx.IGraphProto = {
    name: g.name,
    node: g.nodes.map((n) => ({
      opType: onnxOpType(n),
      domain: n.domain,
      input: n.inputs,
      output: n.outputs,
      name: n.name,
      // Attributes named `_x` are melseg's own notes for shape rules (e.g. a block size), not ONNX's.
      attribute: Object.entries(n.attrs).filter(([k]) => !k.startsWith('_')).map(([k, v]) => attribute(k, v)),
    })),
    initializer: [...g.initializers].map(([name, t]) => tensorProto(name, t)),
    input: g.inputs.map((v) => ({ name: v.name, type: typeProto(v.shape, v.dtype) })),
    output: g.outputs.map((v) => ({ name: v.name, type: typeProto(v.shape, v.dtype) })),
    valueInfo: opts.valueInfo
      ? g.nodes.flatMap((n) => n.outputs).filter((o) => o && !declared.has(o)).map((o) => {
          const v = g.value(o);
          return { name: o, type: typeProto(v.shape, v.dtype) };
        })
      : [],
  };
  return onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: 'melseg',
    opsetImport: [{ domain: '', version: OPSET }, ...[...domains].sort().map((domain) => ({ domain, version: CONTRIB_OPSETS[domain] }))],
    graph,
    docString: opts.docString ?? '',
    metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
  });
}

export function serialize(g: Graph, opts: SerializeOptions = {}): Uint8Array {
  const unlowered = g.nodes.filter((n) => n.domain === 'melseg');
  const unknown = g.nodes.find((n) => n.domain !== '' && n.domain !== 'melseg' && !(n.domain in CONTRIB_OPSETS));
  if (unknown) throw new Error(`proto: node ${unknown.name} (${unknown.op}) is in domain '${unknown.domain}', which has no opset version in CONTRIB_OPSETS (src/onnx/proto.ts)`);
  if (unlowered.length) throw new Error(`proto: graph still holds composite ops (${unlowered[0].op}); call g.lower() first`);
  return onnx.ModelProto.encode(toModelProto(g, opts)).finish();
}
