/**
 * onnxruntime's default execution order as modelled by ortOrder (src/graphs/liveness.ts): a
 * depth-first walk back from the leaves, the highest-numbered producer first, a node run when its
 * walk returns. Checked on graphs small enough to follow by hand, and against onnxruntime itself:
 * its profiler lists the nodes in the order it ran them.
 */
import * as fs from 'fs';
import * as ort from 'onnxruntime-node';
import * as os from 'os';
import * as path from 'path';
import { ortOrder } from '../../src/graphs/liveness';
import { Graph } from '../../src/onnx/graph';
import { serialize } from '../../src/onnx/proto';

/** x -> a = Relu(x) (node 0), b = Neg(x) (node 1), c = a + b (node 2); and a second leaf d = Exp(a) (node 3). */
function diamond(withSecondLeaf: boolean): Graph {
  const g = new Graph('diamond');
  const x = g.input('x', [4]);
  const a = g.op1('Relu', [x], {}, 'a');
  const b = g.op1('Neg', [x], {}, 'b');
  g.output(g.op1('Add', [a, b], {}, 'c'), 'c');
  if (withSecondLeaf) g.output(g.op1('Exp', [a], {}, 'd'), 'd');
  return g;
}

const ops = (nodes: Graph['nodes']) => nodes.map((n) => n.op);

describe('ortOrder: the order onnxruntime runs a graph in', () => {
  test("walks a node's highest-numbered producer first: Neg (node 1) runs before Relu (node 0)", () => {
    expect(ops(ortOrder(diamond(false)))).toEqual(['Neg', 'Relu', 'Add']);
  });

  test('starts from the highest-numbered leaf: Exp (node 3) and its inputs run before the Add', () => {
    expect(ops(ortOrder(diamond(true)))).toEqual(['Relu', 'Exp', 'Neg', 'Add']);
  });

  test("is the order onnxruntime's profiler reports for a graph with fan-out and two leaves", async () => {
    const g = new Graph('chain');
    const x = g.input('x', [8]);
    const a = g.op1('Sigmoid', [x], {}, 'a');
    const b = g.op1('Tanh', [x], {}, 'b');
    const c = g.op1('Mul', [a, b], {}, 'c');
    const d = g.op1('Sqrt', [g.op1('Abs', [a], {}, 'e')], {}, 'd');
    g.output(g.op1('Add', [c, d], {}, 'f'), 'f');
    g.output(g.op1('Exp', [b], {}, 'h'), 'h');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-order-'));
    // no graph optimisation: onnxruntime would fuse or fold nodes the model does not know of
    const s = await ort.InferenceSession.create(serialize(g), { enableProfiling: true, profileFilePrefix: path.join(dir, 'p'), graphOptimizationLevel: 'disabled', executionMode: 'sequential' });
    await s.run({ x: new ort.Tensor('float32', new Float32Array(8).fill(0.5), [8]) });
    s.endProfiling();
    await s.release();
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.json'));
    const events = JSON.parse(fs.readFileSync(path.join(dir, file ?? ''), 'utf8')) as { cat: string; name: string }[];
    const ran = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time')).map((e) => e.name.replace(/_kernel_time$/, ''));
    fs.rmSync(dir, { recursive: true, force: true });
    expect(ran).toEqual(ortOrder(g).map((n) => n.name));
    // and not simply the graph's order
    expect(ran).not.toEqual(g.nodes.map((n) => n.name));
  });
});
