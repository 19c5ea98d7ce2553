/**
 * The settings a run was trained with, from `<artifacts>/<run>/run.json` when the trainer wrote one:
 * a JSON object whose `settings` field is a flat object of setting -> value.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseJson, readTextIfExists } from '../../util/json';

/** Setting -> value as shown in the report; or why run.json could not be used. */
export type RunSettingsView = { settings: Record<string, string> } | { problem: string };

function show(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
}

/**
 * Settings of the run in `runDir`: null when it has no run.json (older runs), `{ problem }` when the
 * file is unreadable or not of the expected shape (the report shows the problem instead of failing).
 */
export function readRunSettings(runDir: string): RunSettingsView | null {
  const file = path.join(runDir, 'run.json');
  let text: string | null;
  try {
    text = readTextIfExists(file);
  } catch (e) {
    return { problem: `${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? e})` };
  }
  if (text === null) return null;
  let json: unknown;
  try {
    json = parseJson(text, file, 'the report shows no settings for this run');
  } catch (e) {
    return { problem: (e as Error).message };
  }
  const settings = (json as { settings?: unknown } | null)?.settings;
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) {
    return { problem: `${file} has no "settings" object` };
  }
  return { settings: Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, show(v)])) };
}

/**
 * `<artifacts>/<run>` for a results row's run id, or undefined when the id is not one plain folder name
 * (empty, ".", "..", a separator, NUL) or the folder resolves (through symlinks) outside `artifacts`:
 * a results CSV is data, and its run column must not make the report embed files from elsewhere.
 */
export function runFolderIn(artifacts: string, run: string): string | undefined {
  if (!run || run === '.' || run === '..' || /[/\\\0]/.test(run)) return undefined;
  const dir = path.join(artifacts, run);
  let real: string;
  let root: string;
  try {
    root = fs.realpathSync(artifacts);
    real = fs.realpathSync(dir);
  } catch {
    return dir; // not there: nothing to embed, callers check existence
  }
  const rel = path.relative(root, real);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? dir : undefined;
}
