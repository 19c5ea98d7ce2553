import { inferenceSettingsProblem, parseThreshold, PRESETS, resolveSettings, type InferenceSettings } from '../../src/infer/settings';

const fromCheckpoint: InferenceSettings = { tta: 'flips', largestComponent: true, fillHoles: false, threshold: 0.4 };

describe('resolveSettings: flags > --preset > the checkpoint > raw', () => {
  it('with nothing given and no checkpoint settings, is raw', () => {
    expect(resolveSettings({})).toEqual({ ...PRESETS.raw, origin: 'raw' });
  });

  it('uses the checkpoint settings when no preset is given', () => {
    expect(resolveSettings({}, fromCheckpoint)).toEqual({ ...fromCheckpoint, origin: 'the checkpoint' });
  });

  it('a preset wins over the checkpoint settings', () => {
    expect(resolveSettings({ preset: 'raw' }, fromCheckpoint)).toEqual({ ...PRESETS.raw, origin: 'preset raw' });
  });

  it('explicit flags win over the preset, field by field, including a --no- flag', () => {
    const r = resolveSettings({ preset: 'best', tta: 'none', largestComponent: false, threshold: 0.35 }, fromCheckpoint);
    expect(r).toEqual({ tta: 'none', largestComponent: false, fillHoles: PRESETS.best.fillHoles, threshold: 0.35, origin: 'preset best + flags' });
  });

  it('explicit flags win over the checkpoint settings', () => {
    expect(resolveSettings({ fillHoles: true, threshold: 'auto' }, fromCheckpoint)).toEqual({ ...fromCheckpoint, fillHoles: true, threshold: 'auto', origin: 'the checkpoint + flags' });
  });

  it('an unknown preset names the choices', () => {
    expect(() => resolveSettings({ preset: 'fast' })).toThrow('--preset fast: expected one of raw, best');
  });
});

describe('parseThreshold', () => {
  it('takes a number in (0, 1) or auto', () => {
    expect(parseThreshold('0.45')).toBe(0.45);
    expect(parseThreshold('AUTO')).toBe('auto');
    for (const bad of ['0', '1', '1.5', 'x', '']) expect(() => parseThreshold(bad)).toThrow(`--threshold ${bad}: expected a number between 0 and 1 (e.g. --threshold 0.5) or --threshold auto`);
  });
});

describe('inferenceSettingsProblem', () => {
  it('accepts every preset and names what is wrong otherwise', () => {
    for (const p of Object.values(PRESETS)) expect(inferenceSettingsProblem(p)).toBeNull();
    expect(inferenceSettingsProblem({ ...fromCheckpoint, tta: 'all' })).toBe('tta is "all", expected one of none, flips, d4');
    expect(inferenceSettingsProblem({ ...fromCheckpoint, threshold: 2 })).toBe('threshold is 2, expected a number in (0, 1)');
    expect(inferenceSettingsProblem({ ...fromCheckpoint, fillHoles: 'yes' })).toBe('fillHoles is "yes", expected true or false');
    expect(inferenceSettingsProblem({ ...fromCheckpoint, extra: 1 })).toMatch(/unknown field\(s\) extra/);
    expect(inferenceSettingsProblem('d4')).toMatch(/expected an object/);
  });
});
