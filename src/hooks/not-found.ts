/**
 * oclif's command_not_found hook: a mistyped command gets the closest one (edit distance), e.g.
 *   melseg trian ...  ->  "trian" is not a melseg command. Did you mean "train"? (melseg help lists them)
 * Non-interactive, so scripts and CI logs see the suggestion too; exit status 127 as a shell's.
 */
import type { Hook } from '@oclif/core';

/** Levenshtein distance (insertions, deletions, substitutions each cost 1). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}

export function closest(word: string, candidates: readonly string[]): string | undefined {
  const ranked = candidates.map((c) => ({ c, d: editDistance(word.toLowerCase(), c.toLowerCase()) })).sort((x, y) => x.d - y.d);
  return ranked.length && ranked[0].d <= Math.max(2, Math.floor(word.length / 2)) ? ranked[0].c : undefined;
}

const hook: Hook<'command_not_found'> = async function (opts) {
  const ids = opts.config.commands.filter((c) => !c.hidden).map((c) => c.id);
  const guess = closest(opts.id, ids);
  const id = opts.id.replace(/:/g, ' ');
  this.error(`"${id}" is not a ${opts.config.bin} command.${guess ? ` Did you mean "${guess.replace(/:/g, ' ')}"?` : ''} Run ${opts.config.bin} help for the list of commands.`, { exit: 127 });
};

export default hook;
