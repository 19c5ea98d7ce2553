import { Flags } from '@oclif/core';
import { MelsegCommand } from '../cli/command';
import { chartResults } from '../sweep';

export default class Chart extends MelsegCommand {
  static override summary = 'Draw the charts and the HTML report of one or more results CSVs.';
  static override description = `Writes curves.png (per loss: train/valid loss and validation IoU per epoch, one colour per model),
curves_top.png (the --top best combinations), metrics.png (best validation IoU per model and loss, each bar
labelled) and report.html: interactive charts (hover for values, click to hide series; Chart.js is inlined,
so the page works offline), a sortable table, and a card per run with its settings (<artifacts>/<run>/run.json)
and a thumbnail (in report_files/) that links to its predictions_best.png. Several --results files are read
together (e.g. the shards of a sweep); each combination is charted from its best run (highest best validation
IoU); runs of different image sizes are charted apart, each model marked with its size (UNet_dilate @ 64 px).`;
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --results /tmp/sw/results.csv --top 10',
    '<%= config.bin %> <%= command.id %> --results sw/results.shard-0-of-2.csv sw/results.shard-1-of-2.csv --artifacts sw/artifacts --out sw/charts',
  ];
  static override flags = {
    results: Flags.string({ char: 'r', summary: 'Results CSV(s); repeat the flag or list several.', multiple: true, default: ['results/results.csv'] }),
    out: Flags.string({ char: 'o', summary: 'Folder for the charts and report.html (default: the folder of the first --results file).' }),
    artifacts: Flags.string({ summary: 'Folder(s) holding <run>/predictions_best.png and run.json (default: artifacts/ next to each results file, then ./artifacts).', multiple: true }),
    top: Flags.integer({ summary: 'Combinations in curves_top.png.', default: 5 }),
    title: Flags.string({ summary: 'Title of the figures and the report.' }),
    runs: Flags.boolean({ summary: 'Also draw runs.png: every run\'s validation IoU per epoch, one colour per --results file (e.g. melseg against PyTorch, several seeds).', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Chart);
    const r = await chartResults({ results: flags.results, out: flags.out, artifacts: flags.artifacts, top: flags.top, title: flags.title, runs: flags.runs });
    this.log(`${r.rows} rows, ${r.combinations} combinations, ${r.grids} prediction grid(s) from ${flags.results.join(', ')}`);
    this.log(`curves: ${r.files.curves}`);
    this.log(`top ${flags.top}: ${r.files.curvesTop}`);
    this.log(`metrics: ${r.files.metrics}`);
    this.log(`report: ${r.files.report}`);
    if (r.files.runs) this.log(`runs: ${r.files.runs}`);
  }
}
