/**
 * The base of melseg's commands: oclif's Command, with a mistyped flag answered in one line with the
 * closest flag (`train --epoch 2` -> "unknown flag --epoch; did you mean --epochs?") instead of the
 * parse error and the whole help.
 */
import { Command, Interfaces } from '@oclif/core';
import type { ArgOutput, FlagOutput } from '@oclif/core/lib/interfaces/parser';
import { closest } from '../util/closest';

type FlagDefs = Record<string, { char?: string; aliases?: string[]; allowNo?: boolean; hidden?: boolean }>;

/** Every spelling a command accepts for its flags: --name, --alias, --no-name, -c. */
export function flagSpellings(flags: FlagDefs): string[] {
  const out: string[] = [];
  for (const [name, f] of Object.entries(flags)) {
    if (f.hidden) continue;
    out.push(`--${name}`, ...(f.aliases ?? []).map((a) => `--${a}`));
    if (f.allowNo) out.push(`--no-${name}`);
  }
  return out;
}

/** The unknown flags oclif's parse error names (NonExistentFlagsError: "Nonexistent flag(s): --a, --b"), or none. */
export function unknownFlags(err: unknown): string[] {
  const e = err as { flags?: unknown; message?: unknown };
  if (Array.isArray(e?.flags) && e.flags.every((f) => typeof f === 'string')) return (e.flags as string[]).map((f) => f.replace(/=.*$/s, ''));
  const m = typeof e?.message === 'string' ? /^Nonexistent flags?: (.+)$/m.exec(e.message) : null;
  return m ? m[1].split(', ').map((f) => f.replace(/=.*$/s, '')) : [];
}

/** One line for the unknown flags of `id`, with the closest accepted spelling of each. */
export function unknownFlagMessage(bin: string, id: string, unknown: readonly string[], flags: FlagDefs): string {
  const known = flagSpellings(flags);
  const parts = unknown.map((u) => {
    const guess = u.startsWith('--') ? closest(u.slice(2), known.map((k) => k.slice(2))) : undefined;
    return guess ? `${u} (did you mean --${guess}?)` : u;
  });
  return `${bin} ${id}: unknown flag${unknown.length > 1 ? 's' : ''} ${parts.join(', ')}. ${bin} ${id} --help lists every flag.`;
}

export abstract class MelsegCommand extends Command {
  protected override async parse<F extends FlagOutput, B extends FlagOutput, A extends ArgOutput>(
    options?: Interfaces.Input<F, B, A>,
    argv?: string[],
  ): Promise<Interfaces.ParserOutput<F, B, A>> {
    try {
      return await super.parse(options, argv);
    } catch (e) {
      const unknown = unknownFlags(e);
      if (!unknown.length) throw e;
      return this.error(unknownFlagMessage(this.config.bin, this.id ?? '', unknown, (options?.flags ?? {}) as FlagDefs), { exit: 2 });
    }
  }
}
