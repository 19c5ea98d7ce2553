/**
 * The typed table of op rules, keyed by ONNX op type. Adding an op = one file + one entry here.
 */
import type { OpDef } from './types';
import { Abs, Sign } from './Abs';
import { Add } from './Add';
import { BatchNormalization, BatchNormTrain } from './BatchNormTrain';
import { Cast } from './Cast';
import { Clip } from './Clip';
import { Equal, Greater, GreaterOrEqual, Less } from './compare';
import { Concat, Split } from './Concat';
import { Conv } from './Conv';
import { ConvTranspose } from './ConvTranspose';
import { DepthToSpace, SpaceToDepth } from './DepthToSpace';
import { Div } from './Div';
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
import { Transpose } from './Transpose';
import { Where } from './Where';

export const OPS = {
  Abs, Add, AveragePool, BatchNormalization, BatchNormTrain, Cast, Clip, Concat, Conv, ConvTranspose, DepthToSpace, Div,
  Equal, Exp, Expand, Gather, Gemm, Greater, GreaterOrEqual, Identity, Less, Log, MatMul, MaxPool, MaxUnpool,
  Mul, NchwcConv, Neg, Pad, Pow, Reciprocal, ReduceMax, ReduceMean, ReduceProd, ReduceSum, Relu, ReorderInput, ReorderOutput, Reshape, Resize,
  Shape, Sigmoid, Sign, Slice, Softplus, SpaceToDepth, Split, Sqrt, Squeeze, Sub, Transpose, Unsqueeze, Where,
} satisfies Record<string, OpDef>;

export type OpType = keyof typeof OPS;

export function getOp(type: string): OpDef {
  const def = (OPS as Record<string, OpDef>)[type];
  if (!def) throw new Error(`op '${type}' has no rule in src/ops (known: ${Object.keys(OPS).join(', ')})`);
  return def;
}
