import { gradCheck, input } from '../helpers/gradcheck';
import { uniform, seeded } from '../helpers/random';

const TOL = 2e-3;

describe('elementwise op gradients match finite differences', () => {
  test.each([
    ['Add', [2, 3, 4], [3, 1]],
    ['Sub', [2, 3, 4], [4]],
    ['Mul', [2, 3, 4], [2, 1, 4]],
  ])('%s with broadcasting %j x %j', async (op, sa, sb) => {
    const r = await gradCheck((g, [a, b]) => g.op1(op as string, [a, b]), [input('a', sa as number[], 1), input('b', sb as number[], 2)]);
    expect(r.worst).toBeLessThan(TOL);
  });

  test('Div with denominators away from zero', async () => {
    const b = { name: 'b', shape: [3, 4], data: uniform(seeded(3), 12, 0.5, 2) };
    const r = await gradCheck((g, [x, y]) => g.op1('Div', [x, y]), [input('a', [2, 3, 4], 1), b]);
    expect(r.worst).toBeLessThan(TOL);
  });

  test.each(['Relu', 'Sigmoid', 'Tanh', 'Exp', 'Neg', 'Abs', 'Softplus'])('%s', async (op) => {
    const r = await gradCheck((g, [x]) => g.op1(op, [x]), [input('x', [2, 3, 5], 4)], { eps: 1e-3 });
    expect(r.worst).toBeLessThan(TOL);
  });

  test.each(['Log', 'Sqrt', 'Reciprocal'])('%s on positive inputs', async (op) => {
    const x = { name: 'x', shape: [2, 7], data: uniform(seeded(5), 14, 0.5, 2) };
    const r = await gradCheck((g, [v]) => g.op1(op, [v]), [x], { eps: 1e-3 });
    expect(r.worst).toBeLessThan(TOL);
  });

  test('Pow with a constant exponent', async () => {
    const x = { name: 'x', shape: [6], data: uniform(seeded(6), 6, 0.5, 2) };
    const r = await gradCheck((g, [v]) => g.op1('Pow', [v, g.f32(3)]), [x], { eps: 1e-3 });
    expect(r.worst).toBeLessThan(TOL);
  });

  test('Clip passes the gradient only inside the bounds', async () => {
    const r = await gradCheck((g, [v]) => g.op1('Clip', [v, g.f32(-0.5), g.f32(0.7)]), [input('x', [4, 5], 8)], { eps: 1e-3 });
    expect(r.worst).toBeLessThan(TOL);
  });

  test('Where routes the gradient by the condition', async () => {
    const r = await gradCheck(
      (g, [a, b]) => g.op1('Where', [g.op1('Greater', [a, b]), g.op1('Mul', [a, a]), b]),
      [input('a', [3, 4], 9), input('b', [3, 4], 10)],
      { eps: 1e-3 },
    );
    expect(r.worst).toBeLessThan(TOL);
  });
});
