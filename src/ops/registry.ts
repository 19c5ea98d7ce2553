/**
 * The table of op rules, by file: each entry names a file of src/ops and the op types whose rules it
 * exports (families share a file: Sign with Abs, Split with Concat). Adding an op = one file + one
 * entry here. getOp() looks a rule up by ONNX op type; ruleFile() says where it lives.
 */
import type { OpDef } from './types';
import { Abs, Sign } from './Abs';
import { Add } from './Add';
import { BatchNormalization, BatchNormTrain } from './BatchNormTrain';
import { Cast } from './Cast';
import { Clip } from './Clip';
import { Equal, Greater, Less } from './compare';
import { Concat, Split } from './Concat';
import { Conv } from './Conv';
import { ConvTranspose } from './ConvTranspose';
import { DepthToSpace, SpaceToDepth } from './DepthToSpace';
import { Div } from './Div';
import { Erf } from './Erf';
import { Exp } from './Exp';
import { Gemm, MatMul } from './Gemm';
import { Identity } from './Identity';
import { Log } from './Log';
import { AveragePool, MaxPool, MaxUnpool } from './MaxPool';
import { Mul } from './Mul';
import { NchwcConv, ReorderInput, ReorderOutput } from './Nchwc';
import { Neg } from './Neg';
import { Pad } from './Pad';
import { Pow } from './Pow';
import { Reciprocal } from './Reciprocal';
import { ReduceMax, ReduceMean, ReduceProd } from './ReduceMean';
import { ReduceSum } from './ReduceSum';
import { Relu } from './Relu';
import { Expand, Reshape } from './Reshape';
import { Resize } from './Resize';
import { Gather, Shape } from './Shape';
import { Sigmoid } from './Sigmoid';
import { Slice } from './Slice';
import { Softplus } from './Softplus';
import { Sqrt } from './Sqrt';
import { Squeeze, Unsqueeze } from './Squeeze';
import { Sub } from './Sub';
import { Tanh } from './Tanh';
import { Transpose } from './Transpose';
import { Where } from './Where';

// Each rule is typed by its own operand tuple; the table holds them under the common OpDef.
const BY_FILE: Record<string, Record<string, OpDef>> = {
  Abs: { Abs, Sign }, Add: { Add }, BatchNormTrain: { BatchNormalization, BatchNormTrain }, Cast: { Cast }, Clip: { Clip },
  compare: { Equal, Greater, Less }, Concat: { Concat, Split }, Conv: { Conv }, ConvTranspose: { ConvTranspose },
  DepthToSpace: { DepthToSpace, SpaceToDepth }, Div: { Div }, Erf: { Erf }, Exp: { Exp }, Gemm: { Gemm, MatMul }, Identity: { Identity },
  Log: { Log }, MaxPool: { AveragePool, MaxPool, MaxUnpool }, Mul: { Mul }, Nchwc: { NchwcConv, ReorderInput, ReorderOutput },
  Neg: { Neg }, Pad: { Pad }, Pow: { Pow }, Reciprocal: { Reciprocal }, ReduceMean: { ReduceMax, ReduceMean, ReduceProd },
  ReduceSum: { ReduceSum }, Relu: { Relu }, Reshape: { Expand, Reshape }, Resize: { Resize }, Shape: { Gather, Shape },
  Sigmoid: { Sigmoid }, Slice: { Slice }, Softplus: { Softplus }, Sqrt: { Sqrt }, Squeeze: { Squeeze, Unsqueeze }, Sub: { Sub }, Tanh: { Tanh },
  Transpose: { Transpose }, Where: { Where },
};

const OPS = new Map<string, { def: OpDef; file: string }>();
for (const [file, defs] of Object.entries(BY_FILE)) {
  for (const [type, def] of Object.entries(defs)) {
    if (OPS.has(type)) throw new Error(`op registry: '${type}' is registered by both src/ops/${OPS.get(type)?.file}.ts and src/ops/${file}.ts`);
    OPS.set(type, { def, file });
  }
}

export function getOp(type: string): OpDef {
  const hit = OPS.get(type);
  if (!hit) throw new Error(`op '${type}' has no rule in src/ops (known: ${[...OPS.keys()].sort().join(', ')})`);
  return hit.def;
}

/** The file holding an op type's rule, e.g. 'src/ops/Abs.ts' for Sign. */
export function ruleFile(type: string): string {
  const hit = OPS.get(type);
  return hit ? `src/ops/${hit.file}.ts` : `a new file src/ops/${type}.ts (and an entry in src/ops/registry.ts)`;
}
