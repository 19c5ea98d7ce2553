import { flagSpellings, unknownFlagMessage, unknownFlags } from '../../src/cli/command';
import { melseg } from '../helpers/cli';

const flags = { epochs: { char: 'e' }, 'batch-size': { aliases: ['batch_size'] }, augment: { allowNo: true }, secret: { hidden: true } };

describe('unknown flags', () => {
  it('lists every spelling a command accepts', () => {
    expect(flagSpellings(flags)).toEqual(['--epochs', '--batch-size', '--batch_size', '--augment', '--no-augment']);
  });

  it("reads the flags from oclif's error, without their values", () => {
    expect(unknownFlags({ flags: ['--epoch=2'], message: 'x' })).toEqual(['--epoch']);
    expect(unknownFlags(new Error('Nonexistent flags: --epoch, --bach-size\nSee more help with --help'))).toEqual(['--epoch', '--bach-size']);
    expect(unknownFlags(new Error('Expected --epochs=x to be an integer'))).toEqual([]);
  });

  it('suggests the closest flag of each, or none when nothing is close', () => {
    expect(unknownFlagMessage('melseg', 'train', ['--epoch', '--bach-size', '--zzzzzzzzzz'], flags)).toBe(
      'melseg train: unknown flags --epoch (did you mean --epochs?), --bach-size (did you mean --batch-size?), --zzzzzzzzzz. melseg train --help lists every flag.',
    );
  });

  it('melseg train --epoch 2 prints one line with the closest flag, not the help, and exits 2', () => {
    const r = melseg(['train', '--epoch', '2', '--data', 'synthetic:8']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('melseg train: unknown flag --epoch (did you mean --epochs?). melseg train --help lists every flag.');
    expect(r.stderr).not.toMatch(/USAGE|FLAGS/);
    expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
    expect(r.stdout).toBe('');
  });
});
