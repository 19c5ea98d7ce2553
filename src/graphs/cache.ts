/**
 * Compiled graphs on disk. The cache (ensureGraphs) keeps one folder per configuration and target
 * pipeline, `<root>/<Model>_<loss>[_s<S>_w<W>]_<pipeline tag>/` (root: the user cache folder,
 * src/util/paths.ts), builds only the graphs a caller asks for (predict: inference; evaluate: eval;
 * train: the train step and eval), and reuses them while the compiler that built them is unchanged:
 * the manifest records a fingerprint of the compiler's own source files and the pipeline's passes,
 * so an upgraded melseg never runs stale graphs. writeGraphs writes a folder for `melseg build-graph`.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { nchwcBlockSize } from '../onnx/cpu';
import type { Device } from '../onnx/session';
import { writeFileAtomic } from '../util/atomic';
import { graphCacheDir } from '../util/paths';
import { type GraphKind, GRAPH_KINDS } from './build';
import { compileGraphs, GRAPH_FILES, type GraphInfo, type Manifest } from './compile';
import { graphDirName, type ResolvedConfig } from './config';
import { pipeline, type Target } from './pipeline';

/** The compiler: everything a graph's bytes depend on (relative to src/). */
const COMPILER_PARTS = ['ops', 'passes', 'models', 'losses', 'onnx', 'optim/adamw', 'autodiff', 'graphs'];

let cached: string | undefined;

/**
 * sha256 over the compiler's TypeScript sources when they are present (a checkout: the same key for
 * ts-jest and the compiled CLI), else over the compiled files (an installed package).
 */
function compilerFingerprint(): string {
  if (cached) return cached;
  const src = path.join(__dirname, '..', '..', 'src');
  const root = fs.existsSync(path.join(src, 'graphs', 'cache.ts')) ? src : path.join(__dirname, '..');
  const ext = root === src ? '.ts' : '.js';
  const files: string[] = [];
  const visit = (p: string) => {
    for (const f of [p, p + ext]) {
      if (!fs.existsSync(f)) continue;
      if (fs.statSync(f).isDirectory()) for (const e of fs.readdirSync(f).sort()) visit(path.join(f, e));
      else if (f.endsWith(ext) && !f.endsWith('.d.ts')) files.push(f);
      return;
    }
  };
  for (const part of COMPILER_PARTS) visit(path.join(root, part));
  const h = createHash('sha256');
  for (const f of files) h.update(path.relative(root, f)).update(fs.readFileSync(f));
  cached = h.digest('hex').slice(0, 16);
  return cached;
}

export interface CachedGraphs<K extends GraphKind> {
  dir: string;
  manifest: Manifest<K> & { compiler: string };
  /** whether any graph was compiled by this call */
  built: boolean;
}

export interface EnsureOptions<K extends GraphKind> {
  /** cache root (default: graphCacheDir(), the user cache folder) */
  root?: string;
  /** the execution provider the graphs are for (default cpu) */
  device?: Device;
  /** the graphs needed (default: all five) */
  kinds?: readonly K[];
  log?: (s: string) => void;
}

/** The target a device's graphs are compiled for: on the CPU, with this CPU's NCHWc block size. */
export async function targetFor(device: Device): Promise<Target> {
  return device === 'cpu' ? { device, nchwcBlock: await nchwcBlockSize() } : { device };
}

type OnDisk = Omit<Manifest, 'graphs'> & { compiler: string; graphs: Partial<Record<GraphKind, GraphInfo>> };

/** The manifest in `dir` if it describes `c` built by this compiler through the same pipeline. */
function reusable(dir: string, c: ResolvedConfig, p: Manifest['pipeline']): OnDisk | undefined {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    const same = m.compiler === compilerFingerprint() && m.model?.id === c.model.id && m.loss?.id === c.loss.id &&
      m.imageSize === c.imageSize && m.width === c.width && JSON.stringify(m.pipeline) === JSON.stringify(p);
    return same && m.graphs ? m : undefined;
  } catch {
    return undefined; // missing or unreadable: rebuilt
  }
}

/** The graphs `kinds` of `c` for `device`, built into the cache if missing or stale. */
export async function ensureGraphs<K extends GraphKind = GraphKind>(c: ResolvedConfig, o: EnsureOptions<K> = {}): Promise<CachedGraphs<K>> {
  const target = await targetFor(o.device ?? 'cpu');
  const p = pipeline(c, target);
  const described = { target: p.tag, rewrites: p.rewrites.map((q) => q.name), devicePasses: p.devicePasses.map((q) => q.name) };
  const dir = path.join(o.root ?? graphCacheDir(), `${graphDirName(c)}_${p.tag}`);
  const kinds = (o.kinds ?? GRAPH_KINDS) as readonly K[];
  const old = reusable(dir, c, described);
  const have = (k: GraphKind) => old?.graphs[k] && fs.existsSync(path.join(dir, GRAPH_FILES[k]));
  const missing = kinds.filter((k) => !have(k));
  if (old && !missing.length) return { dir, manifest: { ...old, graphs: listed(old.graphs, kinds) }, built: false };
  o.log?.(`building ${missing.join(', ')} graphs for ${c.model.name} x ${c.loss.name} (image ${c.imageSize}, width ${c.width}, ${p.tag}) into ${dir}`);
  const fresh = compileGraphs(c, target, { kinds: missing });
  fs.mkdirSync(dir, { recursive: true });
  for (const k of missing) await writeFileAtomic(path.join(dir, GRAPH_FILES[k]), fresh.bytes[k]);
  // graphs already there stay listed (a concurrent build of the same folder writes the same bytes)
  const graphs: Partial<Record<GraphKind, GraphInfo>> = { ...old?.graphs, ...fresh.manifest.graphs };
  const onDisk: OnDisk = { ...fresh.manifest, compiler: compilerFingerprint(), graphs };
  await writeFileAtomic(path.join(dir, 'manifest.json'), JSON.stringify(onDisk, null, 2) + '\n');
  return { dir, manifest: { ...onDisk, graphs: listed(graphs, kinds) }, built: true };
}

/** The entries of `kinds`, which the caller made sure are all there. */
function listed<K extends GraphKind>(graphs: Partial<Record<GraphKind, GraphInfo>>, kinds: readonly K[]): Record<K, GraphInfo> {
  const out: Partial<Record<K, GraphInfo>> = {};
  for (const k of kinds) out[k] = graphs[k];
  if (kinds.some((k) => !out[k])) throw new Error(`graph cache: the manifest lacks ${kinds.filter((k) => !out[k]).join(', ')}`);
  return out as Record<K, GraphInfo>;
}

export interface WriteReport {
  dir: string;
  manifest: Manifest;
  files: { file: string; bytes: number; nodes?: number }[];
  seconds: number;
}

/**
 * Every graph of `c` and its manifest into `dir` (default graphs/<Model>_<loss>[_s<S>_w<W>]), for the
 * portable target unless told otherwise: what `melseg build-graph` writes (it adds checkpoint.ckpt).
 */
export async function writeGraphs(
  c: ResolvedConfig,
  dir = path.join('graphs', graphDirName(c)),
  o: { target?: Target; valueInfo?: boolean; log?: (s: string) => void } = {},
): Promise<WriteReport> {
  const t0 = Date.now();
  const { manifest, bytes } = compileGraphs(c, o.target ?? { device: 'portable' }, { valueInfo: o.valueInfo, log: o.log });
  fs.mkdirSync(dir, { recursive: true });
  const files: WriteReport['files'] = [];
  for (const kind of GRAPH_KINDS) {
    await writeFileAtomic(path.join(dir, GRAPH_FILES[kind]), bytes[kind]);
    files.push({ file: GRAPH_FILES[kind], bytes: bytes[kind].length, nodes: manifest.graphs[kind].nodes });
  }
  const mj = JSON.stringify(manifest, null, 2) + '\n';
  await writeFileAtomic(path.join(dir, 'manifest.json'), mj);
  files.push({ file: 'manifest.json', bytes: Buffer.byteLength(mj) });
  return { dir, manifest, files, seconds: (Date.now() - t0) / 1000 };
}
