import { execFileSync } from 'child_process';
import { float16Bits, float16Value } from '../../src/export/fp16';
import { randn, seeded } from '../helpers/random';
import { oracleTest, PY } from '../helpers/oracle';


describe('float16 rounding of --fp16', () => {
  // every binade a weight can fall in, the subnormals, halfway cases, and the range's ends
  const rand = seeded(5);
  const values = Float32Array.from([
    ...Array.from(randn(rand, 2000), (v, i) => v * 2 ** ((i % 40) - 28)),
    0, -0, 1, -1, 65504, -65504, 2 ** -24, 2 ** -25, 3 * 2 ** -26, 2 ** -14, 2 ** -14 - 2 ** -25,
    1 + 2 ** -11, 1 + 3 * 2 ** -11, 2049, 2051, 0.1, 0.229, 0.485,
  ]);

  oracleTest('numpy')('gives numpy\'s float16 bits (round to nearest, ties to even) for every value', () => {
    const out = execFileSync(PY, ['-c', 'import numpy as np, sys; x = np.frombuffer(sys.stdin.buffer.read(), dtype=np.float32); print(",".join(str(int(v)) for v in x.astype(np.float16).view(np.uint16)))'], { input: Buffer.from(values.buffer) });
    const want = out.toString().trim().split(',').map(Number);
    const got = Array.from(values, float16Bits);
    const bad = got.map((b, i) => (b === want[i] ? -1 : i)).filter((i) => i >= 0);
    expect(bad.map((i) => `${values[i]}: ${got[i]} vs ${want[i]}`)).toEqual([]);
  });

  test('reads back within half a float16 step', () => {
    for (const v of values) {
      const back = float16Value(float16Bits(v));
      const step = Math.max(2 ** -24, 2 ** (Math.floor(Math.log2(Math.abs(v) || 1)) - 10));
      expect(Math.abs(back - v)).toBeLessThanOrEqual(step / 2);
    }
  });
});
