/**
 * The one way melseg parses JSON that came from a user's file (split files, safetensors headers,
 * checkpoint metadata, run.json): the nesting depth is checked before JSON.parse, so a hostile
 * file nested 500k levels deep gets an error naming the file instead of V8's "Maximum call stack
 * size exceeded" from whatever walks the parsed value (JSON.stringify in a message, a validator).
 * No file melseg reads legitimately nests more than a few levels.
 */
import { readFileSync } from 'fs';

/** Deepest nesting of objects/arrays accepted. */
export const MAX_JSON_DEPTH = 64;

export class JsonFileError extends Error {
  constructor(
    readonly source: string,
    message: string,
  ) {
    super(message);
    this.name = 'JsonFileError';
  }
}

/** Deepest object/array nesting of `text` (brackets inside strings skipped), stopping once above `limit`. */
export function jsonDepth(text: string, limit = Infinity): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/**
 * JSON.parse of `text` read from `source` (a file name, or "<file> metadata key"); a syntax error
 * or nesting deeper than `maxDepth` throws JsonFileError naming the source and `fix`.
 */
export function parseJson(text: string, source: string, fix = 'the file is damaged or not what melseg expects here: use a good copy'): unknown {
  const depth = jsonDepth(text, MAX_JSON_DEPTH);
  if (depth > MAX_JSON_DEPTH) throw new JsonFileError(source, `${source}: JSON nested more than ${MAX_JSON_DEPTH} levels deep, expected at most ${MAX_JSON_DEPTH}; ${fix}`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new JsonFileError(source, `${source}: not valid JSON (${(e as Error).message}); ${fix}`);
  }
}

/**
 * The UTF-8 text of `file`, or null when it does not exist (a run or sweep not started yet, an older
 * run without run.json); any other read error is thrown unchanged, for the caller to say what it
 * means for its file.
 */
export function readTextIfExists(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** parseJson of a file's UTF-8 text; a file that cannot be read throws its error unchanged (ENOENT etc.). */
export function readJsonFile(file: string, fix?: string): unknown {
  return parseJson(readFileSync(file, 'utf8'), file, fix);
}
