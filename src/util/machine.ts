/**
 * What this process may use of the machine: CPU cores (os.availableParallelism(), capped by a cgroup
 * CPU quota as Slurm, Docker --cpus and Kubernetes limits set it) and memory (available memory, capped
 * by a cgroup memory limit). Both cgroup v2 (cpu.max, memory.max) and v1 (cpu.cfs_quota_us,
 * memory.limit_in_bytes) are read; where none is set, the machine's figures stand.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const CGROUP = '/sys/fs/cgroup';

function read(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** CPU quota in cores (quota / period), or undefined when unlimited or unknown. */
export function cgroupCpuQuota(root = CGROUP): number | undefined {
  const v2 = read(path.join(root, 'cpu.max')); // "max 100000" or "200000 100000"
  if (v2) {
    const [quota, period] = v2.split(/\s+/);
    return quota === 'max' || !(Number(period) > 0) || !(Number(quota) > 0) ? undefined : Number(quota) / Number(period);
  }
  const quota = Number(read(path.join(root, 'cpu', 'cpu.cfs_quota_us'))); // -1: unlimited
  const period = Number(read(path.join(root, 'cpu', 'cpu.cfs_period_us')));
  return quota > 0 && period > 0 ? quota / period : undefined;
}

/** Cores this process may keep busy: availableParallelism() (the affinity mask), capped by the cgroup quota, at least 1. */
export function availableCores(root = CGROUP): number {
  const quota = cgroupCpuQuota(root);
  return Math.max(1, Math.min(os.availableParallelism(), quota === undefined ? Infinity : Math.floor(quota)));
}

/** Bytes the cgroup still allows (limit - usage), or undefined when unlimited or unknown. */
export function cgroupMemoryLeft(root = CGROUP): number | undefined {
  const v2 = read(path.join(root, 'memory.max'));
  const [limit, usage] = v2 !== undefined
    ? [v2 === 'max' ? NaN : Number(v2), Number(read(path.join(root, 'memory.current')))]
    : [Number(read(path.join(root, 'memory', 'memory.limit_in_bytes'))), Number(read(path.join(root, 'memory', 'memory.usage_in_bytes')))];
  // v1 reports "unlimited" as a huge page-rounded number (about 2^63)
  if (!(limit > 0) || limit >= 2 ** 60 || !(usage >= 0)) return undefined;
  return Math.max(0, limit - usage);
}

/** Bytes this process can still allocate without swapping or being killed: available memory, capped by the cgroup's. */
export function availableMemory(root = CGROUP): number {
  const left = cgroupMemoryLeft(root);
  return Math.min(os.freemem(), left === undefined ? Infinity : left);
}
