import * as fs from 'fs';
import * as path from 'path';
import { getOp, ruleFile } from '../../src/ops/registry';

describe('the op table', () => {
  test('each op type names the file its rule lives in, families included, and an unknown op where a new rule goes', () => {
    expect([ruleFile('Sign'), ruleFile('Split'), ruleFile('MaxUnpool'), ruleFile('Conv')]).toEqual(['src/ops/Abs.ts', 'src/ops/Concat.ts', 'src/ops/MaxPool.ts', 'src/ops/Conv.ts']);
    for (const type of ['Sign', 'Split', 'SpaceToDepth', 'ReduceMax', 'Gather', 'NchwcConv']) {
      const file = path.join(__dirname, '..', '..', ruleFile(type));
      expect([type, fs.readFileSync(file, 'utf8').includes(`export const ${type} =`)]).toEqual([type, true]);
    }
    expect(ruleFile('Gelu')).toBe('a new file src/ops/Gelu.ts (and an entry in src/ops/registry.ts)');
    expect(() => getOp('Gelu')).toThrow(/op 'Gelu' has no rule in src\/ops \(known: Abs, Add, /);
  });
});
