import { gradients } from '../src/autodiff';
import { Graph } from '../src/onnx/graph';

describe('the reverse walk', () => {
  test('an op without a gradient rule is named, with the file its family\'s rules live in', () => {
    const g = new Graph('t');
    const x = g.input('x', [1, 2, 4, 4]);
    const y = g.op1('AveragePool', [x], { kernel_shape: [2, 2], strides: [2, 2] });
    expect(() => gradients(g, g.op1('ReduceSum', [y], { keepdims: 0 }), [x])).toThrow(/op AveragePool \(node .*\) has no gradient rule: add one to src\/ops\/MaxPool\.ts/);
  });

  test('a gradient reaching an output that an op\'s rule does not differentiate is refused, naming both', () => {
    const g = new Graph('t');
    const [x, gamma, beta] = [g.input('x', [2, 3, 2, 2]), g.input('gamma', [3]), g.input('beta', [3])];
    const [, , mean] = g.op('BatchNormTrain', [x, gamma, beta], { epsilon: 1e-5 });
    expect(() => gradients(g, g.op1('ReduceSum', [mean], { keepdims: 0 }), [x])).toThrow(/reaches output 2 of BatchNormTrain .*src\/ops\/BatchNormTrain\.ts.*output 0 only/);
  });

  test('a node missing a required operand is refused when it is recorded', () => {
    const g = new Graph('t');
    const x = g.input('x', [1, 2, 4, 4]);
    expect(() => g.op1('Conv', [x, null])).toThrow(/Conv: operand 1 \(W\) is required/);
    expect(() => g.op1('Relu', [x, x])).toThrow(/Relu: 2 operands, at most 1 expected/);
  });

  test('a loss that does not depend on the inputs asked for is an error', () => {
    const g = new Graph('t');
    const [x, z] = [g.input('x', [3]), g.input('z', [3])];
    expect(() => gradients(g, g.op1('ReduceSum', [z], { keepdims: 0 }), [x])).toThrow(/does not depend on any of the requested inputs/);
  });
});
