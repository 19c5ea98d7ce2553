#!/usr/bin/env node
/**
 * Builds the page `melseg export --web` copies (npm run build runs this after tsc): web/page.ts and
 * the src/ modules it imports, bundled for the browser by esbuild into dist/web/melseg-page.js, and
 * web/index.html beside it. Node-only packages those modules import for other functions (decoders,
 * fs) are replaced by a stub that throws if it ever ran; the build fails if any of it is in the bundle,
 * so the page stays the same code as `melseg predict` without carrying Node's half.
 */
const fs = require('fs');
const path = require('path');
const esbuild = require('esbuild');

const ROOT = path.join(__dirname, '..');
// node web/build.js [DIR]: DIR instead of dist/web (tests build into a temp folder)
const OUT = path.resolve(process.argv[2] ?? path.join(ROOT, 'dist', 'web'));
const NODE_ONLY = /^(fs|path|os|crypto|child_process|worker_threads|jimp|pngjs|sharp|onnxruntime-node|onnx-proto|protobufjs)$/;

const nodeOnly = {
  name: 'node-only',
  setup(build) {
    build.onResolve({ filter: NODE_ONLY }, (a) => ({ path: a.path, namespace: 'node-only', sideEffects: false }));
    build.onLoad({ filter: /.*/, namespace: 'node-only' }, (a) => ({
      contents: `module.exports = (() => { throw new Error('${a.path} is not available in the browser'); })();`,
      loader: 'js',
    }));
  },
};

/** Temp file + rename, so a reader (or a concurrent build) never sees half a file. */
function writeAtomic(file, data) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

async function main() {
  const r = await esbuild.build({
    entryPoints: [path.join(__dirname, 'page.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    outfile: path.join(OUT, 'melseg-page.js'),
    write: false,
    metafile: true,
    plugins: [nodeOnly],
    logLevel: 'warning',
    legalComments: 'none',
  });
  const output = Object.values(r.metafile.outputs)[0];
  const leaked = Object.entries(output.inputs).filter(([f, i]) => f.startsWith('node-only:') && i.bytesInOutput > 0).map(([f]) => f.slice('node-only:'.length));
  if (leaked.length) throw new Error(`web/build.js: the page bundle needs ${leaked.join(', ')}, which only Node has; import the plain module the page needs, not the one that pulls these in`);
  for (const f of r.outputFiles) writeAtomic(f.path, f.contents);
  writeAtomic(path.join(OUT, 'index.html'), fs.readFileSync(path.join(__dirname, 'index.html')));
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
