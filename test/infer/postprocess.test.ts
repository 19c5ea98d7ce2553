import { fillHoles, largestComponent, toMask } from '../../src/infer/postprocess';

/** Rows of '#' (lesion) and '.' (background) to a 0/1 mask. */
function grid(...rows: string[]): { m: Uint8Array; w: number; h: number } {
  const w = rows[0].length;
  return { m: Uint8Array.from(rows.join(''), (c) => (c === '#' ? 1 : 0)), w, h: rows.length };
}
const show = (m: Uint8Array, w: number) => Array.from({ length: m.length / w }, (_, y) => Array.from(m.subarray(y * w, (y + 1) * w), (v) => (v ? '#' : '.')).join(''));

describe('largestComponent', () => {
  it('keeps the largest 8-connected region; diagonal neighbours belong to it', () => {
    const g = grid(
      '##....#',
      '##...#.',
      '..#....',
      '.......',
      '....###',
    );
    // the 2x2 block and the diagonal pixel at (2, 2) form one region of 5; (6,0)+(5,1) is 2, the bottom run 3
    expect(show(largestComponent(g.m, g.w, g.h), g.w)).toEqual(['##.....', '##.....', '..#....', '.......', '.......']);
  });

  it('an empty mask stays empty, and a tie keeps the first region in raster order', () => {
    expect(largestComponent(new Uint8Array(6), 3, 2)).toEqual(new Uint8Array(6));
    const g = grid('#.#', '...');
    expect(show(largestComponent(g.m, g.w, g.h), g.w)).toEqual(['#..', '...']);
  });
});

describe('fillHoles', () => {
  it('fills background enclosed by lesion and keeps background connected to the border', () => {
    const g = grid(
      '.#####.',
      '.#...#.',
      '.#.#.#.',
      '.#####.',
      '...#...',
      '..#.#..',
    );
    expect(show(fillHoles(g.m, g.w, g.h), g.w)).toEqual(['.#####.', '.#####.', '.#####.', '.#####.', '...#...', '..#.#..']);
  });

  it('a diagonal wall of lesion closes a hole (background connects through its 4 neighbours only)', () => {
    const g = grid(
      '..#..',
      '.#.#.',
      '..#..',
    );
    expect(show(fillHoles(g.m, g.w, g.h), g.w)).toEqual(['..#..', '.###.', '..#..']);
  });

  it('background touching the border is never filled', () => {
    const g = grid('###', '#..', '###');
    expect(fillHoles(g.m, g.w, g.h)).toEqual(g.m);
  });
});

describe('toMask', () => {
  it('thresholds strictly above T, then keeps the largest region, then fills its holes', () => {
    const prob = Float32Array.from([
      0.9, 0.9, 0.9, 0.1, 0.6,
      0.9, 0.5, 0.9, 0.1, 0.1,
      0.9, 0.9, 0.9, 0.1, 0.1,
    ]);
    expect(show(toMask(prob, 5, 3, { threshold: 0.5, largestComponent: false, fillHoles: false }), 5)).toEqual(['###.#', '#.#..', '###..']);
    expect(show(toMask(prob, 5, 3, { threshold: 0.5, largestComponent: true, fillHoles: true }), 5)).toEqual(['###..', '###..', '###..']);
    expect(show(toMask(prob, 5, 3, { threshold: 0.7, largestComponent: false, fillHoles: false }), 5)).toEqual(['###..', '#.#..', '###..']);
  });
});
