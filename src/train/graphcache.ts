/**
 * Graphs are built once per configuration and reused from `graphs/<Model>_<loss>[_s<S>_w<W>]/` while
 * the compiler that built them is unchanged: the manifest records a fingerprint of the compiler's
 * own source files, so an upgraded melseg never runs stale graphs.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { buildGraphs, graphDirName, Manifest, ResolvedConfig } from '../graphs';

const COMPILER_PARTS = ['ops', 'models', 'losses', 'onnx', 'optim/adamw', 'autodiff', 'graphs'];

let cached: string | undefined;

/**
 * sha256 over the compiler's TypeScript sources when they are present (a checkout: the same key for
 * ts-jest and the compiled CLI), else over the compiled files (an installed package).
 */
export function compilerFingerprint(): string {
  if (cached) return cached;
  const src = path.join(__dirname, '..', '..', 'src');
  const root = fs.existsSync(path.join(src, 'graphs.ts')) ? src : path.join(__dirname, '..');
  const files: string[] = [];
  const visit = (p: string) => {
    for (const ext of root === src ? ['', '.ts'] : ['', '.js']) {
      const f = p + ext;
      if (!fs.existsSync(f)) continue;
      const st = fs.statSync(f);
      if (st.isDirectory()) for (const e of fs.readdirSync(f).sort()) visit(path.join(f, e));
      else if (/\.(ts|js)$/.test(f) && !f.endsWith('.d.ts') && !f.endsWith('.map')) files.push(f);
      return;
    }
  };
  for (const part of COMPILER_PARTS) visit(path.join(root, part));
  const h = createHash('sha256');
  for (const f of files) h.update(path.relative(root, f)).update(fs.readFileSync(f));
  cached = h.digest('hex').slice(0, 16);
  return cached;
}

export interface CachedGraphs {
  dir: string;
  manifest: Manifest & { compiler?: string };
  built: boolean;
}

function sameConfig(m: Manifest & { compiler?: string }, c: ResolvedConfig): boolean {
  const lowering = (l: object | undefined) => JSON.stringify(l && Object.keys(l).length ? l : {});
  return (
    m.model.id === c.model.id && m.loss.id === c.loss.id && m.imageSize === c.imageSize && m.width === c.width &&
    lowering(m.lowering) === lowering(c.lowering) && m.compiler === compilerFingerprint()
  );
}

/** The graphs of `c`, built into the cache root if missing or stale. */
export async function ensureGraphs(c: ResolvedConfig, root = 'graphs', log?: (s: string) => void): Promise<CachedGraphs> {
  const dir = path.join(root, graphDirName(c));
  const mf = path.join(dir, 'manifest.json');
  if (fs.existsSync(mf)) {
    try {
      const m = JSON.parse(fs.readFileSync(mf, 'utf8'));
      const complete = m.graphs && Object.values(m.graphs as Record<string, { file: string }>).every((g) => fs.existsSync(path.join(dir, g.file)));
      if (complete && sameConfig(m, c)) return { dir, manifest: m, built: false };
    } catch {
      // unreadable manifest: rebuild below
    }
  }
  const variant = c.lowering?.nchwc ? `, NCHWc lowering (block ${c.lowering.nchwc})` : '';
  log?.(`building graphs for ${c.model.name} x ${c.loss.name} (image ${c.imageSize}, width ${c.width}${variant}) into ${dir}`);
  const report = await buildGraphs({ model: c.model.id, loss: c.loss.id, imageSize: c.imageSize, width: c.width, seed: c.seed, lowering: c.lowering }, dir, {
    compiler: compilerFingerprint(),
  });
  return { dir, manifest: report.manifest, built: true };
}
