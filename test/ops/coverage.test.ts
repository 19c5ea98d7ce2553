import * as fs from 'fs';
import * as path from 'path';
import { Graph, type Value } from '../../src/onnx/graph';
import { getOp } from '../../src/ops/registry';
import { differentiatedOps } from '../helpers/gradcheck';
import { ALL_CASES } from './fd-cases';

/** Every op type of the table, read from its source: the identifiers inside BY_FILE's inner braces. */
function tableOps(): string[] {
  const src = fs.readFileSync(path.join(__dirname, '..', '..', 'src', 'ops', 'registry.ts'), 'utf8');
  const table = /const BY_FILE[^=]*=\s*\{([\s\S]*?)\n\};/.exec(src)?.[1];
  if (!table) throw new Error('src/ops/registry.ts: no `const BY_FILE = { ... };` table found (update this test\'s reader)');
  return [...table.matchAll(/\{([^}]*)\}/g)].flatMap((m) => m[1].split(',').map((s) => s.trim()).filter(Boolean));
}

/**
 * Rules the walker never calls: src/autodiff.ts propagates only through float32 outputs, and these
 * ops' outputs are never float32 (checked below on float32 operands), so no finite difference can
 * reach them. Each entry builds the op on float32 inputs.
 */
const UNREACHABLE: Record<string, (g: Graph, a: Value, b: Value) => Value> = {
  Shape: (g, a) => g.op1('Shape', [a]),
  Equal: (g, a, b) => g.op1('Equal', [a, b]),
  Greater: (g, a, b) => g.op1('Greater', [a, b]),
  Less: (g, a, b) => g.op1('Less', [a, b]),
};

describe('the finite-difference cases (fd-cases.ts) against the op table (src/ops/registry.ts)', () => {
  const types = tableOps();
  const withRule = types.filter((t) => getOp(t).grad || getOp(t).gradOutputs);
  const covered = new Set(ALL_CASES.flatMap((c) => [...differentiatedOps(c.build, c.inputs, withRule, c.opts)]));

  test('the table reader finds the ops getOp knows', () => {
    expect(types.length).toBeGreaterThan(40);
    for (const t of types) expect(() => getOp(t)).not.toThrow();
  });

  test('every op with a gradient rule that the walker can reach has a case that differentiates through it', () => {
    expect(withRule.filter((t) => !covered.has(t) && !(t in UNREACHABLE))).toEqual([]);
  });

  test.each(Object.keys(UNREACHABLE))('%s: its output is never float32, so the walker never calls its rule', (t) => {
    const g = new Graph('u');
    const out = UNREACHABLE[t](g, g.input('a', [2, 3]), g.input('b', [2, 3]));
    expect([getOp(t).grad !== undefined || getOp(t).gradOutputs !== undefined, out.dtype]).toEqual([true, expect.not.stringMatching(/^float32$/)]);
    expect(covered.has(t)).toBe(false);
  });
});
