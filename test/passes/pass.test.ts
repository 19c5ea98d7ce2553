import * as ort from 'onnxruntime-node';
import { Graph, type Value } from '../../src/onnx/graph';
import { sessionFor } from '../../src/onnx/session';
import { operands, rewritePass, type RewriteRule } from '../../src/passes/pass';

/** A new pass is one rule (pattern, check, replacement) made a pass with rewritePass: here, Neg(Neg(x)) -> x. */
const doubleNegation: RewriteRule<{ x: Value }> = {
  name: 'double-negation',
  pattern: (g, n) => {
    const inner = n.op === 'Neg' ? g.producerOf(n.inputs[0]) : undefined;
    const [x] = inner?.op === 'Neg' ? operands(g, inner) : [];
    return x ? { x } : undefined;
  },
  check: (_g, { x }) => x.dtype === 'float32',
  replacement: (_g, { x }) => [x],
};

describe('rewrite rules', () => {
  test('a rule replaces each match; consumers and graph outputs keep their names and values', async () => {
    const g = new Graph('t');
    const x = g.input('x', [3]);
    const twice = g.op1('Neg', [g.op1('Neg', [x])]);
    g.output(g.op1('Relu', [twice]), 'y');
    g.output(twice, 'z');
    g.output(g.op1('Neg', [x]), 'once');
    expect(rewritePass(doubleNegation).run(g)).toBe(1);
    g.prune();
    expect(g.opCounts()).toEqual({ Identity: 1, Neg: 1, Relu: 1 });
    const r = await (await sessionFor(g)).run({ x: new ort.Tensor('float32', Float32Array.of(-1, 0, 2), [3]) });
    expect([Array.from(r.y.data as Float32Array), Array.from(r.z.data as Float32Array), Array.from(r.once.data as Float32Array)]).toEqual([[0, 0, 2], [-1, 0, 2], [1, -0, -2]]);
  });
});
