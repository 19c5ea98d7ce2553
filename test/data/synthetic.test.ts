import { createHash } from 'crypto';
import { generateSynthetic, syntheticIds } from '../../src/data/synthetic';

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe('generateSynthetic', () => {
  // Recorded at 007db74, before drawSample was split into named steps: every test that trains on
  // synthetic:N relies on these bytes.
  it('draws the same bytes as before for a given count and size', () => {
    const small = generateSynthetic(12, 48);
    expect(sha(small.images)).toBe('8da9d0ab3af749896baca870e6e1c9fa74093937ef4c9a85b8ff7ae3b6b15a99');
    expect(sha(small.masks)).toBe('25697013fe08631c1cd46a21d00a211089973b0f972c616d6e7ac3efcc98ed81');
    const large = generateSynthetic(3, 160);
    const both = createHash('sha256').update(large.images).update(large.masks).digest('hex');
    expect(both).toBe('b1b0564ec60ad019436c08b0bd6a20e269a9b62a2bb9aa36db2d015d82837fb2');
  });

  it('makes synthetic:N a prefix of synthetic:M', () => {
    const S = 24;
    const n = generateSynthetic(3, S);
    const m = generateSynthetic(5, S);
    expect(sha(m.images.subarray(0, 3 * S * S * 3))).toBe(sha(n.images));
    expect(sha(m.masks.subarray(0, 3 * S * S))).toBe(sha(n.masks));
    expect(m.ids.slice(0, 3)).toEqual(n.ids);
    expect(syntheticIds(3)).toEqual(['synth-0000', 'synth-0001', 'synth-0002']);
  });
});
