import { fractions } from '../../src/cli/flags';

describe('--split-fractions', () => {
  test("reads three numbers and applies the recipe's one check, so a split with nothing to validate on stops at the flag", () => {
    expect(fractions('0.9,0.1,0')).toEqual([0.9, 0.1, 0]);
    expect(() => fractions('1,0,0')).toThrow(/^--split-fractions 1,0,0: expected three non-negative numbers that sum to 1, with some images to train on and some to validate on/);
    expect(() => fractions('0.5,x,0.5')).toThrow(/^--split-fractions 0.5,x,0.5: expected three/);
    expect(() => fractions('0.5,0.5')).toThrow(/^--split-fractions 0.5,0.5: expected three/);
  });
});
