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

  it.each([
    ['evaluate', ['--checkpoint', 'x.ckpt', '--spilt', 'test'], '--spilt (did you mean --split?)'],
    ['predict', ['--out', 'o', '--threshhold', '0.5', 'a.png'], '--threshhold (did you mean --threshold?)'],
    ['export', ['--out', 'm.onnx', '--fp61'], '--fp61 (did you mean --fp16?)'],
    ['merge', ['--results', 'a.csv', '--ouT', 'm.csv'], '--ouT (did you mean --out?)'],
  ])('melseg %s answers a mistyped flag in one line too', (id, args, hint) => {
    const r = melseg([id, ...args]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`melseg ${id}: unknown flag ${hint}`);
    expect(r.stderr).not.toMatch(/USAGE|FLAGS/);
  });

  it('evaluate and predict take -q and --threads, and refuse --threads 0 before any work', () => {
    for (const [id, rest] of [['evaluate', []], ['predict', ['--out', 'o', 'a.png']]] as const) {
      const r = melseg([id, '--checkpoint', 'missing.ckpt', '-q', '--threads', '0', ...rest]);
      expect([id, r.status]).toEqual([id, 1]);
      expect(r.stderr).toContain("--threads 0: expected a whole number >= 1 (onnxruntime's intra-op threads)");
    }
  });
});
