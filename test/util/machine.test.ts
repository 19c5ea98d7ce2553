import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { availableCores, availableMemory, cgroupCpuQuota, cgroupMemoryLeft } from '../../src/util/machine';

/** A fake /sys/fs/cgroup with the given files. */
function cgroup(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cgroup-'));
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    fs.writeFileSync(path.join(root, f), text + '\n');
  }
  return root;
}

describe('cores and memory this process may use', () => {
  it('reads a cgroup v2 CPU quota (Slurm --cpus-per-task, docker --cpus) and caps the cores by it', () => {
    expect(cgroupCpuQuota(cgroup({ 'cpu.max': '150000 100000' }))).toBe(1.5);
    expect(cgroupCpuQuota(cgroup({ 'cpu.max': 'max 100000' }))).toBeUndefined();
    expect(availableCores(cgroup({ 'cpu.max': '100000 100000' }))).toBe(1);
    expect(availableCores(cgroup({ 'cpu.max': '50000 100000' }))).toBe(1); // half a core still runs one thread
    expect(availableCores(cgroup({}))).toBe(os.availableParallelism());
  });

  it('reads a cgroup v1 quota, -1 meaning none', () => {
    expect(cgroupCpuQuota(cgroup({ 'cpu/cpu.cfs_quota_us': '300000', 'cpu/cpu.cfs_period_us': '100000' }))).toBe(3);
    expect(cgroupCpuQuota(cgroup({ 'cpu/cpu.cfs_quota_us': '-1', 'cpu/cpu.cfs_period_us': '100000' }))).toBeUndefined();
  });

  it('caps available memory by the cgroup limit minus its usage (v2 and v1), ignoring "unlimited"', () => {
    expect(cgroupMemoryLeft(cgroup({ 'memory.max': String(2 ** 30), 'memory.current': String(2 ** 28) }))).toBe(2 ** 30 - 2 ** 28);
    expect(cgroupMemoryLeft(cgroup({ 'memory.max': 'max', 'memory.current': '5' }))).toBeUndefined();
    expect(cgroupMemoryLeft(cgroup({ 'memory/memory.limit_in_bytes': String(2 ** 20), 'memory/memory.usage_in_bytes': '0' }))).toBe(2 ** 20);
    expect(cgroupMemoryLeft(cgroup({ 'memory/memory.limit_in_bytes': '9223372036854771712', 'memory/memory.usage_in_bytes': '0' }))).toBeUndefined();
    expect(availableMemory(cgroup({ 'memory.max': String(2 ** 20), 'memory.current': '0' }))).toBe(Math.min(2 ** 20, os.freemem()));
  });
});
