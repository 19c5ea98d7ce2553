/**
 * onnxruntime's profiler output (enableProfiling): a JSON array of trace events. Node events are
 * named `<node>_kernel_time` (also `_fence_before/after`), with `args.op_name` the op type and `dur`
 * in microseconds; `model_run` (cat Session) spans one whole Run.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

interface TraceEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string; [k: string]: unknown };
}

export interface OpRow {
  op: string;
  ms: number;
  calls: number;
  share: number;
}

export interface ProfileSummary {
  runs: number;
  /** mean model_run duration, ms (graph execution inside onnxruntime) */
  modelRunMs: number;
  /** mean summed kernel time per run, ms */
  kernelMs: number;
  ops: OpRow[];
  nodes: { name: string; op: string; ms: number }[];
  /**
   * onnxruntime's CPU arena over the profiled runs (its per-node memory stats): the bytes it held
   * (what it ever took from the system; it gives nothing back), the most in use at once (a running
   * maximum since the session began), and the node after which the most was in use in these runs
   */
  arena?: { heldBytes: number; inUsePeakBytes: number; mostAfterNode: string; mostAfterBytes: number };
  /** the nodes of the last profiled run, in the order onnxruntime ran them */
  order: string[];
}

/** A fresh prefix for onnxruntime's profile file (it appends _<timestamp>.json). */
export function profilePrefix(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-profile-'));
  return path.join(dir, 'melseg');
}

export function findProfile(prefix: string): string {
  const dir = path.dirname(prefix);
  const base = path.basename(prefix);
  const files = fs.readdirSync(dir).filter((f) => f.startsWith(base) && f.endsWith('.json'));
  if (!files.length) throw new Error(`profile: no file ${prefix}_*.json was written; was the session created with enableProfiling and endProfiling() called?`);
  return path.join(dir, files.sort().at(-1)!);
}

/**
 * Per-op-type kernel time over the profiled runs, skipping the first `skipRuns` (warm-up) runs:
 * events are in time order, and each run ends with its model_run event.
 */
export function summarizeProfile(file: string, skipRuns = 0): ProfileSummary {
  const events = JSON.parse(fs.readFileSync(file, 'utf8')) as TraceEvent[];
  const byOp = new Map<string, { us: number; calls: number }>();
  const byNode = new Map<string, { op: string; us: number }>();
  let run = 0;
  let runUs = 0;
  let kernelUs = 0;
  let arena: ProfileSummary['arena'];
  let order: string[] = [];
  let newRun = false;
  for (const e of events) {
    if (e.cat === 'Session' && e.name === 'model_run') {
      if (run >= skipRuns) runUs += e.dur;
      run++;
      newRun = true;
      continue;
    }
    if (run < skipRuns || e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const op = e.args?.op_name ?? '?';
    const o = byOp.get(op) ?? { us: 0, calls: 0 };
    o.us += e.dur;
    o.calls++;
    byOp.set(op, o);
    const node = e.name.slice(0, -'_kernel_time'.length);
    if (newRun) [order, newRun] = [[], false];
    order.push(node);
    const nd = byNode.get(node) ?? { op, us: 0 };
    nd.us += e.dur;
    byNode.set(node, nd);
    kernelUs += e.dur;
    const held = Number(e.args?.mem_arena_held);
    const peak = Number(e.args?.mem_in_use_peak);
    const inUse = Number(e.args?.mem_bytes_in_use);
    if (Number.isFinite(held) && Number.isFinite(peak) && Number.isFinite(inUse)) {
      arena ??= { heldBytes: 0, inUsePeakBytes: 0, mostAfterNode: '', mostAfterBytes: 0 };
      arena.heldBytes = Math.max(arena.heldBytes, held);
      arena.inUsePeakBytes = Math.max(arena.inUsePeakBytes, peak);
      if (inUse > arena.mostAfterBytes) Object.assign(arena, { mostAfterBytes: inUse, mostAfterNode: node });
    }
  }
  const runs = Math.max(run - skipRuns, 1);
  const ops = [...byOp].map(([op, o]) => ({ op, ms: o.us / 1000 / runs, calls: o.calls / runs, share: o.us / kernelUs })).sort((a, b) => b.ms - a.ms);
  const nodes = [...byNode].map(([name, n]) => ({ name, op: n.op, ms: n.us / 1000 / runs })).sort((a, b) => b.ms - a.ms);
  return { runs, modelRunMs: runUs / 1000 / runs, kernelMs: kernelUs / 1000 / runs, ops, nodes, ...(arena ? { arena } : {}), order };
}
