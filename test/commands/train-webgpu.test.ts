import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readResults } from '../../src/report';
import { melseg } from '../helpers/cli';

/**
 * --device webgpu end to end on the compiled CLI: onnxruntime-node's WebGPU provider on whatever
 * Vulkan adapter the machine has (Mesa's lavapipe after scripts/setup.sh). A missing adapter fails
 * these tests with melseg's own error, which names the set-up command; nothing is skipped.
 */
const CFG = ['--model', '2', '--loss', '15', '--data', 'synthetic:48', '--image-size', '32', '--width', '0.125', '--batch-size', '4', '--seed', '1', '--quiet'];

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-webgpu-'));

describe('melseg train --device webgpu (compiled CLI)', () => {
  jest.setTimeout(600_000);

  test('a short run on synthetic lesions learns: valid IoU well above an all-lesion guess', () => {
    const out = tmp();
    const r = melseg(['train', ...CFG, '--epochs', '6', '--device', 'webgpu', '--out', out]);
    expect([r.status, r.stderr.split('\n').filter((l) => /error/i.test(l))]).toEqual([0, []]);
    const rows = readResults(path.join(out, 'results.csv'));
    const best = Math.max(...rows.map((x) => x.metric));
    // synthetic:48 lesions cover 3-20% of each 32 px image (mean 10%): "lesion" everywhere scores an IoU of about 0.1
    expect(best).toBeGreaterThan(0.6);
  });

  test('without a Vulkan adapter: a clear error naming the set-up command, no stack trace', () => {
    const r = melseg(['train', ...CFG, '--epochs', '1', '--device', 'webgpu', '--out', tmp()], { env: { ...process.env, VK_ICD_FILENAMES: '/nonexistent/icd.json' } });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--device webgpu: no WebGPU adapter: .*bash scripts\/setup\.sh.*Or use --device cpu\. \(onnxruntime said: Failed to get a WebGPU adapter/);
    // (Dawn prints its own Vulkan warnings, a C++ source line among them; no JavaScript frame may follow)
    expect(r.stderr).not.toMatch(/^\s+at .*\.[jt]s:\d+:\d+\)?$/m);
  });
});
