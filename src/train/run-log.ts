/**
 * train.log in the run folder: the lines the user saw (settings, data, warnings and notes, one line per
 * epoch), each appended in one write as it is printed (util/atomic appendLineSync), so a killed run leaves
 * a log that ends in a whole line, and a resumed run appends to it. Lines printed before the run folder
 * is opened (e.g. a --workers note) are kept and written when it is.
 */
import * as path from 'path';
import { appendLineSync } from '../util/atomic';

export const RUN_LOG = 'train.log';

export class RunLog {
  private file: string | null = null;
  private pending: string[] = [];
  private failed = false;

  constructor(private readonly echo: (line: string) => void) {}

  /** Prints `text` and appends it to train.log (or keeps it until the run folder is open). */
  readonly line = (text: string): void => {
    this.echo(text);
    if (this.file) this.append(text);
    else this.pending.push(text);
  };

  /** From now on every line also goes to `<runDir>/train.log`, starting with a header and the lines kept so far. */
  open(runDir: string, header: string): void {
    this.file = path.join(runDir, RUN_LOG);
    this.append(`=== ${new Date().toISOString()} ${header}`);
    for (const t of this.pending.splice(0)) this.append(t);
  }

  /** A log that cannot be written never stops the training it records: said once, then left alone. */
  private append(text: string): void {
    if (this.failed || !this.file) return;
    try {
      appendLineSync(this.file, text);
    } catch (e) {
      this.failed = true;
      this.echo(`warning: ${(e as Error).message}; training goes on without ${RUN_LOG}`);
    }
  }
}
