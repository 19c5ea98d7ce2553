/** A small argv parser for the bench scripts: --key value, --flag; unknown keys are errors. */
import type { Target } from '../src/graphs';

export type ArgSpec = Record<string, 'number' | 'string' | 'flag'>;

export function parseArgs<T extends ArgSpec>(argv: string[], spec: T, usage: string): Record<string, number | string | boolean | undefined> {
  const out: Record<string, number | string | boolean | undefined> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      console.log(usage);
      process.exit(0);
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m || !(m[1] in spec)) throw new Error(`argument '${a}': expected one of ${Object.keys(spec).map((k) => `--${k}`).join(', ')}\n${usage}`);
    const kind = spec[m[1]];
    if (kind === 'flag') {
      out[m[1]] = true;
      continue;
    }
    const v = m[2] ?? argv[++i];
    if (v === undefined) throw new Error(`argument --${m[1]}: expected a value after it\n${usage}`);
    if (kind === 'number') {
      const n = Number(v);
      if (!Number.isFinite(n)) throw new Error(`argument --${m[1]} = '${v}': expected a number`);
      out[m[1]] = n;
    } else out[m[1]] = v;
  }
  return out;
}

export function median(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const k = s.length >> 1;
  return s.length % 2 ? s[k] : (s[k - 1] + s[k]) / 2;
}

/** Peak resident set of this process so far, in bytes (a high-water mark: it never goes down). */
export function peakRss(): number {
  return process.resourceUsage().maxRSS * 1024;
}

export function fmtBytes(b: number): string {
  return b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : `${(b / 2 ** 20).toFixed(0)} MiB`;
}

/** Fixed-width table from rows of cells; the first row is the header. */
export function table(rows: string[][]): string {
  const w = rows[0].map((_, j) => Math.max(...rows.map((r) => (r[j] ?? '').length)));
  const line = (r: string[]) => r.map((c, j) => (j === 0 ? c.padEnd(w[j]) : c.padStart(w[j]))).join('  ');
  return [line(rows[0]), w.map((n) => '-'.repeat(n)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

const TARGETS = ['cpu', 'cuda', 'webgpu', 'portable'] as const;

/** --target's value (a compile target of src/graphs/pipeline.ts), checked. */
export function parseTarget(v: unknown): Target['device'] | undefined {
  if (v === undefined) return undefined;
  const hit = TARGETS.find((t) => t === v);
  if (!hit) throw new Error(`--target ${String(v)}: expected one of ${TARGETS.join(', ')}`);
  return hit;
}
