import { Flags } from '@oclif/core';
import { MelsegCommand } from '../cli/command';
import { mergeResultFiles } from '../sweep';

export default class Merge extends MelsegCommand {
  static override summary = 'Combine results CSVs (e.g. the shards of a sweep) into one.';
  static override description = `Keeps one row per (run, model, loss, epoch), the one from the later file when several have it (rows of
different runs are all kept; rows without a run id, as in the study's CSV, are all kept), sorts the rows in the
study's order (model, loss, epoch) and writes --out atomically in melseg's column layout. --out may be one of the
inputs: that converts an older layout in place.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> --results sw/results.shard-0-of-2.csv --results sw/results.shard-1-of-2.csv --out sw/results.csv',
    '<%= config.bin %> <%= command.id %> --results sw/results.shard-*.csv --out sw/results.csv',
    '<%= config.bin %> <%= command.id %> --results study.csv --out study.csv',
  ];
  static override flags = {
    results: Flags.string({ char: 'r', summary: 'Input results CSVs; repeat the flag or list several.', multiple: true, required: true }),
    out: Flags.string({ char: 'o', summary: 'The merged CSV.', required: true }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Merge);
    const r = await mergeResultFiles(flags.results, flags.out);
    for (const run of r.renamed) this.log(`note: ${run}: another run had that id in an earlier file, so this one was renamed`);
    this.log(`merged ${flags.results.length} file(s), ${r.inputRows} rows -> ${r.rows} rows (${r.inputRows - r.rows} duplicate(s) dropped), ${r.combinations} combinations: ${r.output}`);
  }
}
