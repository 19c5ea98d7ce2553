import * as ort from 'onnxruntime-node';
import { Graph } from '../../src/onnx/graph';
import { sessionFor } from '../../src/onnx/session';
import { spaceToDepthByTransposePass } from '../../src/passes/space-to-depth';

describe('pass space-to-depth-by-transpose: SpaceToDepth as Reshape/Transpose (WebGPU)', () => {
  test.each([[2], [3]])('moves every value where SpaceToDepth does (block %i)', async (b) => {
    const shape = [2, 3, 2 * b, 3 * b];
    const x = Float32Array.from({ length: shape.reduce((p, d) => p * d, 1) }, (_, i) => i);
    const run = async (rewrite: boolean) => {
      const g = new Graph('s2d');
      g.output(g.op1('SpaceToDepth', [g.input('x', shape)], { blocksize: b }), 'y');
      expect(rewrite ? spaceToDepthByTransposePass.run(g) : 0).toBe(rewrite ? 1 : 0);
      expect(g.opCounts().SpaceToDepth ?? 0).toBe(rewrite ? 0 : 1);
      return (await (await sessionFor(g)).run({ x: new ort.Tensor('float32', x, shape) })).y;
    };
    const [a, c] = [await run(false), await run(true)];
    expect(c.dims).toEqual(a.dims);
    expect(Array.from(c.data as Float32Array)).toEqual(Array.from(a.data as Float32Array));
  });
});
