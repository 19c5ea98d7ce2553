import { resizeProbability } from '../../../src/report/grid';
import { mulberry32 } from '../fixtures';

describe('resizeProbability', () => {
  test('keeps a constant map and is the identity at the same size', () => {
    const rand = mulberry32(9);
    const p = Float32Array.from({ length: 25 }, () => rand());
    expect(resizeProbability(p, 5, 5, 5, 5)).toEqual(p);
    expect([...resizeProbability(new Float32Array(16).fill(0.25), 4, 4, 7, 3)].every((v) => Math.abs(v - 0.25) < 1e-7)).toBe(true);
  });

  test('puts the 0.5 crossing of a left/right step at the centre of the original size', () => {
    const S = 8;
    const prob = new Float32Array(S * S);
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) prob[y * S + x] = x < S / 2 ? 0.2 : 0.8;
    const big = resizeProbability(prob, S, S, 30, 20);
    expect(big.length).toBe(30 * 20);
    for (let y = 0; y < 20; y++) for (let x = 0; x < 30; x++) expect([x, big[y * 30 + x] >= 0.5]).toEqual([x, x >= 15]);
  });

  test('refuses a map of the wrong length, naming the size expected', () => {
    expect(() => resizeProbability(new Float32Array(10), 4, 4, 8, 8)).toThrow(/4x4/);
  });
});
