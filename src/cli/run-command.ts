/**
 * What every long-running command does around its library call: Ctrl-C and SIGTERM stop the work
 * cleanly (the library saves where it was and throws StoppedError), and the message ends with the exact
 * command that resumes. A second Ctrl-C exits at once.
 */
import { StoppedError } from '../train/trainer';

/** `melseg <argv...>` quoted for a POSIX shell, with --resume added if missing. */
export function resumeCommand(bin: string, argv: readonly string[]): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  const args = argv.filter((a) => a !== '--overwrite' && a !== '--new-dataframe');
  if (!args.includes('--resume') && args[0] === 'train') args.push('--resume');
  return [bin, ...args].map(quote).join(' ');
}

/**
 * Run `work` with an AbortSignal that SIGINT/SIGTERM trigger; returns its result, or prints what was kept
 * and how to resume and exits with 130 (SIGINT) / 143 (SIGTERM).
 */
export async function withStopSignals<T>(
  work: (signal: AbortSignal) => Promise<T>,
  say: { log: (s: string) => void; exit: (code: number) => never; bin: string; argv: readonly string[] },
): Promise<T> {
  const ac = new AbortController();
  let stops = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    stops += 1;
    if (stops > 1) {
      process.stderr.write(`\n${sig} again: exiting now; the last finished epoch's files are intact.\n`);
      process.exit(sig === 'SIGINT' ? 130 : 143);
    }
    process.stderr.write(`\n${sig}: stopping after the current batch (saving where the run is; ${sig === 'SIGINT' ? 'Ctrl-C' : 'a second signal'} again exits at once)\n`);
    ac.abort(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await work(ac.signal);
  } catch (e) {
    if (!(e instanceof StoppedError)) throw e;
    say.log(e.message);
    say.log(`resume with: ${resumeCommand(say.bin, say.argv)}`);
    return say.exit(e.signalName === 'SIGTERM' ? 143 : 130);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
