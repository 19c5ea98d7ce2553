import { countParameters, parameterSpecs, resolveConfig } from '../../src/graphs';
import { resolveModel, MODELS } from '../../src/models';

describe('the four networks', () => {
  test.each([
    [0, 29443587],
    [1, 34525121],
    [2, 34177921],
    [3, 32437121],
  ])('model %i has the reference parameter count at size 256, width 1', (model, expected) => {
    const params = parameterSpecs(resolveConfig({ model, loss: 0, imageSize: 256, width: 1 }));
    expect(countParameters(params)).toBe(expected);
  });

  test('parameter names are the reference state_dict keys, BN buffers included', () => {
    const names = parameterSpecs(resolveConfig({ model: 3, loss: 0, imageSize: 64, width: 0.25 })).map((p) => p.name);
    expect(names.slice(0, 7)).toEqual([
      'conv1.0.weight', 'conv1.0.bias', 'conv1.1.weight', 'conv1.1.bias', 'conv1.1.running_mean', 'conv1.1.running_var', 'conv1.1.num_batches_tracked',
    ]);
    expect(names).toContain('pool.0.weight');
    expect(names).toContain('bottle.dalated_conv.weight');
    expect(names).toContain('last.0.weight');
    const seg = parameterSpecs(resolveConfig({ model: 0, loss: 0, imageSize: 64, width: 0.25 })).map((p) => p.name);
    expect(seg).toContain('conv3.conv.weight');
    expect(seg).toContain('conv3.batch.running_var');
    expect(seg).toContain('deconv1.4.weight');
  });

  test('a width multiplier scales every width by the same power-of-two base', () => {
    const p = parameterSpecs(resolveConfig({ model: 1, loss: 0, imageSize: 64, width: 0.25 }));
    const shape = (n: string) => p.find((q) => q.name === n)!.shape;
    expect(shape('conv1.0.weight')).toEqual([16, 3, 3, 3]);
    expect(shape('bottle.0.weight')).toEqual([256, 128, 3, 3]);
    expect(shape('deconv4.0.weight')).toEqual([128, 256, 3, 3]);
    expect(shape('last.0.weight')).toEqual([1, 16, 1, 1]);
  });

  test('models resolve by number or name and anything else lists the table', () => {
    expect(resolveModel('unet_dilate').id).toBe(3);
    expect(resolveModel(2).name).toBe('UNet_stride');
    expect(() => resolveModel(7)).toThrow(/unknown model '7'.*\n.*0  SegNet/s);
    expect(MODELS.map((m) => m.name)).toEqual(['SegNet', 'UNet', 'UNet_stride', 'UNet_dilate']);
  });

  test('image sizes that are not multiples of 32 are refused with the reason', () => {
    expect(() => resolveConfig({ model: 1, loss: 0, imageSize: 100, width: 1 })).toThrow(/multiple of 32/);
  });
});
