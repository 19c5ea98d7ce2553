/** scripts/house-metrics.js on a tiny checkout written here: what it counts, and the CLI's report. */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const house = require('../../scripts/house-metrics.js') as {
  longestFunctions(root: string, top?: number): { file: string; name: string; line: number; lines: number }[];
  assertionCounts(root: string): { total: { nonNull: number; as: number; asConst: number }; byRoom: Record<string, { nonNull: number; as: number; asConst: number }> };
  measure(root: string, rule: string): { upward: string[]; cycles: string[][]; roomsNotInRule: string[] };
};

const SCRIPT = path.join(__dirname, '..', '..', 'scripts', 'house-metrics.js');

function checkout(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'house-'));
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    fs.writeFileSync(path.join(root, f), text);
  }
  return root;
}

const ROOT = checkout({
  'ARCHITECTURE.md': 'Arrows point down only: `top, tool -> low`.\n',
  'src/top/a.ts': "import { f } from '../low/b';\nexport function five(x: number[]) {\n  const y = x[0]!;\n  return f(y) as number;\n}\n",
  'src/low/b.ts': "import type { T } from '../top/a';\nexport const f = (v: number) => {\n  return v;\n};\nexport const K = [1] as const;\nclass C {\n  constructor() {\n    const z = (null as unknown as string)!;\n    void z;\n  }\n}\nvoid C;\n",
  'src/low/index.ts': "export * from './b';\n",
  'src/tool.ts': "import { f } from './low';\nexport const g = f;\n",
});
afterAll(() => fs.rmSync(ROOT, { recursive: true, force: true }));

describe('house-metrics', () => {
  test('measures each function from its first to its last line, named by declaration, variable or class', () => {
    expect(house.longestFunctions(ROOT).map((f) => [f.name, f.file, f.line, f.lines])).toEqual([
      ['C.constructor', 'src/low/b.ts', 7, 4],
      ['five', 'src/top/a.ts', 2, 4],
      ['f', 'src/low/b.ts', 2, 3],
    ]);
  });

  test('counts ! assertions and as casts per room, as const apart', () => {
    const c = house.assertionCounts(ROOT);
    expect(c.total).toEqual({ nonNull: 2, as: 3, asConst: 1 });
    expect(c.byRoom.top).toEqual({ nonNull: 1, as: 1, asConst: 0 });
  });

  test('finds the type-only upward import, the cycle it makes, and resolves folder imports to index.ts', () => {
    const m = house.measure(ROOT, path.join(ROOT, 'ARCHITECTURE.md'));
    expect(m.upward).toEqual(['src/low/b.ts -> src/top/a.ts']);
    expect(m.cycles).toEqual([['low', 'top']]);
    expect(m.roomsNotInRule).toEqual([]);
  });

  test('the command prints the report for another checkout and rule', () => {
    const r = spawnSync(process.execPath, [SCRIPT, '--root', ROOT], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('imports that point up or sideways: 1\n  src/low/b.ts -> src/top/a.ts\n');
    expect(r.stdout).toContain('cycles between rooms: 1 (low <-> top)');
    expect(r.stdout).toContain('non-null assertions (!): 2; as casts: 3 (plus 1 as const)');
  });
});
