/**
 * The settings a run was trained with, from `<artifacts>/<run>/run.json` when the trainer wrote one:
 * a JSON object whose `settings` field is a flat object of setting -> value.
 */
import * as fs from 'fs';
import * as path from 'path';

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
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    return { problem: `${file} cannot be read (${code ?? e})` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { problem: `${file} is not valid JSON (${(e as Error).message})` };
  }
  const settings = (json as { settings?: unknown } | null)?.settings;
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) {
    return { problem: `${file} has no "settings" object` };
  }
  return { settings: Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, show(v)])) };
}
