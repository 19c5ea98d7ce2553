/**
 * The test oracles: Debian's python3 with numpy, torch and onnx, installed by scripts/setup.sh. A test
 * that needs one and finds it missing fails, naming the package and the command that installs it: a
 * check is never skipped silently.
 */
import { spawnSync } from 'child_process';

export const PY = '/usr/bin/python3';

const APT: Record<string, string> = { numpy: 'python3-numpy', torch: 'python3-torch', onnx: 'python3-onnx' };
const known = new Map<string, boolean>();

/** Whether PY can import every module of `modules` ("torch, numpy"). */
export function pythonHas(modules: string): boolean {
  if (!known.has(modules)) known.set(modules, spawnSync(PY, ['-c', `import ${modules}`], { stdio: 'ignore' }).status === 0);
  return known.get(modules)!;
}

function missing(modules: string): Error {
  const pkgs = modules.split(',').map((m) => APT[m.trim()] ?? `python3-${m.trim()}`);
  return new Error(`this test's oracle is missing: ${PY} cannot \`import ${modules}\`; install it with \`bash scripts/setup.sh\` (apt packages ${pkgs.join(' ')})`);
}

type Body = () => unknown;

/** `test`, or a test that fails saying how to install the oracle. */
export function oracleTest(modules: string): (name: string, fn: Body, timeout?: number) => void {
  return (name, fn, timeout) =>
    pythonHas(modules) ? test(name, fn as jest.ProvidesCallback, timeout) : test(name, () => {
      throw missing(modules);
    });
}

/** `describe`, or a block of one test that fails saying how to install the oracle. */
export function oracleDescribe(modules: string): (name: string, fn: () => void) => void {
  return (name, fn) =>
    pythonHas(modules) ? describe(name, fn) : describe(name, () => test(`needs python3 with ${modules}`, () => {
      throw missing(modules);
    }));
}
