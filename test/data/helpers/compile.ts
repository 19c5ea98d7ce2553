/**
 * Compiles src/data/*.ts to plain CommonJS in a temporary folder with typescript's transpileModule,
 * so that tests can run BatchLoader's real worker thread (a worker cannot load .ts under ts-jest).
 * `<tmp>/node_modules` links to the repository's, so the compiled code resolves pure-rand & co.
 */
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'fs';
import * as path from 'path';
import * as ts from 'typescript';
import { tmpDir } from './fixtures';

const REPO = path.resolve(__dirname, '..', '..', '..');

/** Returns the compiled folder (containing data/worker.js); remove it with removeDir when done. */
export function compileDataModule(): string {
  const out = tmpDir('compiled');
  const src = path.join(REPO, 'src', 'data');
  mkdirSync(path.join(out, 'data'));
  for (const f of readdirSync(src).filter((n) => n.endsWith('.ts'))) {
    const js = ts.transpileModule(readFileSync(path.join(src, f), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      fileName: f,
    }).outputText;
    writeFileSync(path.join(out, 'data', f.replace(/\.ts$/, '.js')), js);
  }
  symlinkSync(path.join(REPO, 'node_modules'), path.join(out, 'node_modules'), 'dir');
  return out;
}
