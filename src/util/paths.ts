/**
 * Where melseg keeps what it can rebuild: compiled graphs and decoded datasets. Not the working
 * directory (a run with --out elsewhere must not litter it), but the user's cache folder:
 *   $MELSEG_CACHE_DIR                      when set (e.g. a shared disk on a cluster),
 *   $XDG_CACHE_HOME/melseg or ~/.cache/melseg   on Linux and other Unixes (XDG base directories),
 *   ~/Library/Caches/melseg                on macOS,
 *   %LOCALAPPDATA%\melseg\Cache           on Windows.
 */
import * as os from 'os';
import * as path from 'path';

export function cacheRoot(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.MELSEG_CACHE_DIR) return path.resolve(env.MELSEG_CACHE_DIR);
  const home = os.homedir();
  if (platform === 'darwin') return path.join(home, 'Library', 'Caches', 'melseg');
  if (platform === 'win32') return path.join(env.LOCALAPPDATA ?? path.join(home, 'AppData', 'Local'), 'melseg', 'Cache');
  const xdg = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(home, '.cache');
  return path.join(xdg, 'melseg');
}

/** Compiled graphs, one folder per configuration (src/graphs.ts graphDirName). */
export const graphCacheDir = (env?: NodeJS.ProcessEnv) => path.join(cacheRoot(env), 'graphs');

/** Decoded, resized datasets (src/data/cache.ts). */
export const dataCacheDir = (env?: NodeJS.ProcessEnv) => path.join(cacheRoot(env), 'data');
