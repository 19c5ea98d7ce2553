import { countParameters, parameterSpecs, resolveConfig } from '../../src/graphs';
import { baseWidth, resolveModel, MODELS } from '../../src/models';
import { egeChannels } from '../../src/models/egeunet';

describe('the networks', () => {
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
    expect(MODELS.map((m) => m.name)).toEqual(['SegNet', 'UNet', 'UNet_stride', 'UNet_dilate', 'EGE-UNet']);
    expect(resolveModel('ege-unet').id).toBe(4);
  });

  // 53374: the count of scripts/torch_models.py's EGEUNet(64), the PyTorch twin (the paper reports 0.053 M)
  test('EGE-UNet at width 1 has the paper\'s channels, its weight names and its parameter count', () => {
    const p = parameterSpecs(resolveConfig({ model: 4, loss: 0, imageSize: 64, width: 1 }));
    expect(countParameters(p)).toBe(53374);
    const shape = (n: string) => p.find((q) => q.name === n)?.shape;
    expect(shape('encoder1.0.weight')).toEqual([8, 3, 3, 3]);
    expect(shape('encoder6.0.ldw.2.weight')).toEqual([64, 48, 1, 1]);
    expect(shape('encoder4.0.params_xy')).toEqual([1, 6, 8, 8]);
    expect(shape('encoder4.0.conv_zx.0.weight')).toEqual([6, 1, 3]);
    expect(shape('encoder4.0.conv_zy.2.weight')).toEqual([6, 6, 1]);
    expect(shape('GAB1.g3.1.weight')).toEqual([5, 1, 3, 3]);
    expect(shape('GAB5.tail_conv.0.weight')).toEqual([100]);
    expect(shape('gt_conv5.0.weight')).toEqual([1, 8, 1, 1]);
    expect(shape('dbn1.weight')).toEqual([48]);
    expect(shape('final.weight')).toEqual([1, 8, 1, 1]);
    expect(p.every((q) => q.trainable && q.graphInput)).toBe(true);
  });

  test('EGE-UNet rounds other widths\' channels to multiples of 4, at least 4', () => {
    expect(egeChannels(baseWidth(1))).toEqual([8, 16, 24, 32, 48, 64]);
    expect(egeChannels(baseWidth(0.5))).toEqual([4, 8, 12, 16, 24, 32]);
    expect(egeChannels(baseWidth(0.25))).toEqual([4, 4, 8, 8, 12, 16]);
    expect(egeChannels(baseWidth(2))).toEqual([16, 32, 48, 64, 96, 128]);
    expect(egeChannels(baseWidth(1 / 16))).toEqual([4, 4, 4, 4, 4, 4]);
    const p = parameterSpecs(resolveConfig({ model: 4, loss: 0, imageSize: 64, width: 0.25 }));
    expect(p.find((q) => q.name === 'encoder3.0.weight')?.shape).toEqual([8, 4, 3, 3]);
  });

  test('image sizes that are not multiples of 32 are refused with the reason', () => {
    expect(() => resolveConfig({ model: 1, loss: 0, imageSize: 100, width: 1 })).toThrow(/multiple of 32/);
  });
});
