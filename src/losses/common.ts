/** What a loss receives: logits, probabilities (sigmoid of the logits) and the 0/1 mask, all [N,1,S,S]. */
import type { Graph, Value } from '../onnx/graph';

export interface LossInputs {
  g: Graph;
  logits: Value;
  prob: Value;
  mask: Value;
}

export interface LossDef {
  id: number;
  name: string;
  build(x: LossInputs): Value;
}

export const sum = (g: Graph, v: Value) => g.op1('ReduceSum', [v], { keepdims: 0 });
export const mean = (g: Graph, v: Value) => g.op1('ReduceMean', [v], { keepdims: 0 });

/** log(sigmoid(x)) = -softplus(-x) and log(1 - sigmoid(x)) = -softplus(x): stable for any x. */
export function logSigmoid(g: Graph, x: Value): Value {
  return g.op1('Neg', [g.op1('Softplus', [g.op1('Neg', [x])])]);
}
export function logOneMinusSigmoid(g: Graph, x: Value): Value {
  return g.op1('Neg', [g.op1('Softplus', [x])]);
}
