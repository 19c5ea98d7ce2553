import type { Image } from '../../src/data/image';
import { IMAGENET_MEAN, IMAGENET_STD, maskToTensor, toTensor } from '../../src/data/tensor';

describe('toTensor', () => {
  it('normalises with ImageNet statistics into CHW order', () => {
    const img: Image = { data: new Uint8Array([255, 0, 128, 0, 255, 64]), width: 2, height: 1, channels: 3 };
    const t = toTensor(img);
    const expected = [
      (1 - IMAGENET_MEAN[0]) / IMAGENET_STD[0], (0 - IMAGENET_MEAN[0]) / IMAGENET_STD[0],
      (0 - IMAGENET_MEAN[1]) / IMAGENET_STD[1], (1 - IMAGENET_MEAN[1]) / IMAGENET_STD[1],
      (128 / 255 - IMAGENET_MEAN[2]) / IMAGENET_STD[2], (64 / 255 - IMAGENET_MEAN[2]) / IMAGENET_STD[2],
    ];
    Array.from(t).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
  });
});

describe('maskToTensor', () => {
  it('copies a 0/1 mask into float32 at the offset given', () => {
    const out = new Float32Array(6).fill(7);
    maskToTensor({ data: new Uint8Array([1, 0, 1, 1]), width: 2, height: 2 }, out, 2);
    expect(Array.from(out)).toEqual([7, 7, 1, 0, 1, 1]);
  });
});
