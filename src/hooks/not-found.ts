/**
 * oclif's command_not_found hook: a mistyped command gets the closest one (edit distance), e.g.
 *   melseg trian ...  ->  "trian" is not a melseg command. Did you mean "train"? (melseg help lists them)
 * Non-interactive, so scripts and CI logs see the suggestion too; exit status 127 as a shell's.
 */
import type { Hook } from '@oclif/core';
import { closest } from '../util/closest';

const hook: Hook<'command_not_found'> = async function (opts) {
  const ids = opts.config.commands.filter((c) => !c.hidden).map((c) => c.id);
  const guess = closest(opts.id, ids);
  const id = opts.id.replace(/:/g, ' ');
  this.error(`"${id}" is not a ${opts.config.bin} command.${guess ? ` Did you mean "${guess.replace(/:/g, ' ')}"?` : ''} Run ${opts.config.bin} help for the list of commands.`, { exit: 127 });
};

export default hook;
