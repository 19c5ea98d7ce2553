/**
 * docs/pytorch.md shows code the tests run: its verbatim blocks are in scripts/pytorch_interop.py
 * (tested by pytorch.test.ts), and its converters are the ones `melseg import` prints (tested by
 * import-command.test.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import { PLAIN_CONVERTER, SAFETENSORS_CONVERTER } from '../../src/interop/pickle';

const ROOT = path.join(__dirname, '..', '..');
const doc = fs.readFileSync(path.join(ROOT, 'docs', 'pytorch.md'), 'utf8');
const script = fs.readFileSync(path.join(ROOT, 'scripts', 'pytorch_interop.py'), 'utf8');

test('the blocks marked verbatim are in scripts/pytorch_interop.py as they are', () => {
  const blocks = [...doc.matchAll(/<!-- verbatim from scripts\/pytorch_interop\.py[^>]*-->\n```python\n([\s\S]*?)```/g)].map((m) => m[1]);
  expect(blocks.length).toBe(2);
  for (const b of blocks) expect(script).toContain(b);
});

test("the converters shown are the ones melseg import prints, and the script's writer is the heredoc's", () => {
  expect(doc).toContain(`python3 -c "${SAFETENSORS_CONVERTER}" weights.pth weights.safetensors`);
  expect(doc).toContain(`python3 - weights.pth weights.safetensors <<'EOF'\n${PLAIN_CONVERTER}\nEOF\n`);
  // From `head, blobs, at` to the padded header, indented one level deeper in save_safetensors.
  const loop = PLAIN_CONVERTER.split('\n').slice(3, -1);
  expect(script).toContain(loop.map((l) => `    ${l}`).join('\n'));
});
