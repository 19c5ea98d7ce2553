import { inShard, parseLosses, parseModels, parseShard, shardSuffix } from '../../src/sweep/spec';
import { SweepClock } from '../../src/sweep/eta';

describe('model and loss specs', () => {
  test('ranges, lists, names and all', () => {
    expect(parseModels('0-3')).toEqual([0, 1, 2, 3]);
    expect(parseModels('all')).toEqual([0, 1, 2, 3, 4]);
    expect(parseModels('3,1')).toEqual([1, 3]);
    expect(parseModels('unet, UNet_dilate')).toEqual([1, 3]);
    expect(parseLosses('0-14')).toHaveLength(15);
    expect(parseLosses('all')).toHaveLength(16);
    expect(parseLosses('bce_dice_loss,15')).toEqual([15]);
    expect(parseLosses('4,5,9-14')).toEqual([4, 5, 9, 10, 11, 12, 13, 14]);
    expect(parseLosses('dice_loss,9-10,2')).toEqual([2, 9, 10]);
    expect(parseLosses('tversky_loss_alpha_0.30')).toEqual([7]);
  });

  test('bad specs say what is wrong and list the table', () => {
    expect(() => parseModels('0-7')).toThrow(/--models "0-7": range 0-7 goes past the last model, 4[\s\S]*3 {2}UNet_dilate\n {2}4 {2}EGE-UNet/);
    expect(() => parseModels('VGG')).toThrow(/unknown model 'VGG'[\s\S]*0 {2}SegNet/);
    expect(() => parseLosses('3-1')).toThrow(/runs backwards; write it as 1-3/);
    expect(() => parseLosses('16')).toThrow(/no loss 16 \(the last is 15\)[\s\S]*15 {2}bce_dice_loss/);
    expect(() => parseLosses('1,,2')).toThrow(/empty item/);
    expect(() => parseLosses('')).toThrow(/empty/);
  });
});

describe('shards', () => {
  test('parse i/n and reject the rest', () => {
    expect(parseShard('2/8')).toEqual({ index: 2, count: 8 });
    expect(parseShard(' 0 / 1 ')).toEqual({ index: 0, count: 1 });
    expect(() => parseShard('8/8')).toThrow(/below n \(shards are numbered 0..7\)/);
    expect(() => parseShard('1/0')).toThrow(/at least 1/);
    expect(() => parseShard('3')).toThrow(/not of the form i\/n/);
    expect(() => parseShard('-1/2')).toThrow(/i\/n/);
    expect(shardSuffix({ index: 1, count: 4 })).toBe('.shard-1-of-4');
    expect(shardSuffix(undefined)).toBe('');
  });

  test('the n shards of 60 combinations are disjoint, cover them and are balanced', () => {
    for (const n of [1, 2, 3, 7, 60, 64]) {
      const owner = Array.from({ length: 60 }, (_, k) => Array.from({ length: n }, (_, i) => i).filter((i) => inShard(k, { index: i, count: n })));
      expect(owner.every((o) => o.length === 1)).toBe(true);
      const sizes = Array.from({ length: n }, (_, i) => owner.filter((o) => o[0] === i).length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });
});

describe('SweepClock', () => {
  test('ETA: remaining epochs at each model\'s mean epoch time, plus set-up for runs not started', () => {
    let t = 0;
    const clock = new SweepClock(
      [
        { key: 'a', model: 'SegNet', remaining: 2 },
        { key: 'b', model: 'SegNet', remaining: 2 },
        { key: 'c', model: 'UNet', remaining: 2 },
      ],
      () => t,
    );
    expect(clock.line(1, 3, 'SegNet x BCELoss', 'starting')).toBe('sweep 1/3 SegNet x BCELoss | starting | elapsed 0s | ETA ? (6 epochs left)');
    clock.runStarted('a');
    t = 10_000;
    clock.epochDone('a', 10);
    expect(clock.etaSeconds()).toBe(5 * 10); // UNet not timed yet: the overall mean
    t = 20_000;
    clock.epochDone('a', 10);
    clock.runEnded('a', 24, 20); // 4 s of set-up
    expect(clock.etaSeconds()).toBe(4 * 10 + 2 * 4);
    clock.observeEpoch('UNet', 30);
    expect(clock.etaSeconds()).toBe(2 * 10 + 2 * 30 + 2 * 4);
    expect(clock.line(2, 3, 'SegNet x bce_loss', 'epoch 1/2')).toBe('sweep 2/3 SegNet x bce_loss | epoch 1/2 | elapsed 20s | ETA 1m28s (4 epochs left)');
    clock.runDropped('b');
    clock.runDropped('c');
    expect(clock.line(3, 3, 'UNet x BCELoss')).toBe('sweep 3/3 UNet x BCELoss | elapsed 20s | done');
  });
});
