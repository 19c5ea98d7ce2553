import { initialCheckpoint, parameterSpecs, resolveConfig } from '../../src/graphs';
import { ModelState } from '../../src/checkpoint/state';

describe('ModelState.fromCheckpoint', () => {
  const c = resolveConfig({ model: 1, loss: 9, imageSize: 32, width: 1 / 16 });
  const specs = parameterSpecs(c);

  it('loads the initial checkpoint', () => {
    expect(() => ModelState.fromCheckpoint(initialCheckpoint(c, specs), specs, c)).not.toThrow();
  });

  it('names a float weight stored as I64 and the fix (no "Cannot convert a BigInt value to a number")', () => {
    const ck = { ...initialCheckpoint(c, specs), source: 'runs/a/best.ckpt' };
    const name = specs.find((p) => p.dtype === 'float32')!.name;
    const t = ck.params[name];
    ck.params[name] = { dtype: 'int64', shape: t.shape, data: new BigInt64Array(t.data.length) };
    expect(() => ModelState.fromCheckpoint(ck, specs, c)).toThrow(
      new RegExp(`^runs/a/best\\.ckpt: tensor "${name.replace(/\./g, '\\.')}" is stored as I64 but the model expects F32; .*melseg import`),
    );
  });

  it('names a num_batches_tracked counter stored as F32', () => {
    const ck = initialCheckpoint(c, specs);
    const name = specs.find((p) => p.dtype === 'int64')!.name;
    ck.params[name] = { dtype: 'float32', shape: [], data: Float32Array.of(3) };
    expect(() => ModelState.fromCheckpoint(ck, specs, c)).toThrow(`tensor "${name}" is stored as F32 but the model expects I64`);
  });
});
