import { Flags } from '@oclif/core';
import { MelsegCommand } from '../cli/command';
import { LAYOUT_HELP } from '../data';
import { modelFlags, runSettings, studyArgv, trainFlags } from '../cli/flags';
import { withStopSignals } from '../cli/run-command';
import { modelList } from '../models';
import { runSweep } from '../sweep';

export default class Sweep extends MelsegCommand {
  static override summary = 'Train every selected model x loss with one data split and seed, into one results CSV, then chart it.';
  static override description = `Runs the study's grid (models 0-3 x losses 0-14 by default): each combination is one \`melseg train\` run with
the same data, the same seeded split (saved as <out>/sweep_split.json), seed and settings (--recipe, and the
flags that override it); rows go to results/results.csv (or <out>/results.csv), checkpoints to
artifacts/<run>/ (or <out>/artifacts/). At the end it draws curves.png, curves_top.png, metrics.png and
report.html next to the CSV.

Resumable: re-run the same command after a crash, Ctrl-C, kill or reboot. Finished runs are skipped, an
interrupted run continues from its last.ckpt, and no row is duplicated or lost. A small state file
(<out>/sweep.json) records the sweep, so --new-dataframe moves the old CSV aside (as .bak) and retrains from
scratch only when a sweep STARTS, never when an interrupted one is re-run.

Scale out with --shard i/n (0-based): shard i runs the combinations whose index % n == i and writes
results.shard-i-of-n.csv; run the n shards anywhere (same --out on a shared disk, or copy the CSVs and
artifacts together), then \`melseg merge\` and \`melseg chart\`.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> --recipe study --data ~/PH2Dataset',
    '<%= config.bin %> <%= command.id %> --models 0-3 --losses 0-14 --data synthetic:64 --image-size 64 --width 0.125 --epochs 2 --batch-size 16 --out /tmp/sw',
    '<%= config.bin %> <%= command.id %> --models UNet,3 --losses 2,4,9-14 --data ~/ISIC2017 --image-size 128 --width 0.25 --new-dataframe',
    '<%= config.bin %> <%= command.id %> --data ~/PH2Dataset --out /shared/sweep --shard $SLURM_ARRAY_TASK_ID/8',
  ];
  static override flags = {
    models: Flags.string({ summary: `Networks: numbers, ranges and names, e.g. 0-3, 1,3 or UNet,UNet_dilate (${modelList()}).`, default: '0-3' }),
    losses: Flags.string({ summary: "Losses: numbers, ranges and names, e.g. 0-14 (the study's table) or 4,5,9-14; see `melseg build-graph --list`.", default: '0-14' }),
    'image-size': modelFlags['image-size'],
    width: modelFlags.width,
    ...trainFlags,
    shard: Flags.string({ summary: 'Run part i of n (0-based, e.g. 2/8): the combinations whose index % n == i, into results.shard-i-of-n.csv.' }),
    charts: Flags.boolean({ summary: 'Draw the charts at the end (a shard never does: merge first).', default: true, allowNo: true }),
    top: Flags.integer({ summary: 'Combinations in curves_top.png.', default: 5 }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Sweep, studyArgv(this.argv));
    if (!flags.data) this.error(`--data is required.\n${LAYOUT_HELP}`);
    const r = await withStopSignals(
      (signal) => runSweep({ ...runSettings(flags), models: flags.models, losses: flags.losses, shard: flags.shard, charts: flags.charts, top: flags.top, signal, log: (s) => this.log(s) }),
      { log: (s) => this.log(s), exit: (code) => this.exit(code), bin: this.config.bin, argv: ['sweep', ...this.argv] },
    );
    const count = (o: string) => r.runs.filter((x) => x.outcome === o).length;
    this.log(
      `runs: ${count('trained')} trained, ${count('resumed')} resumed, ${count('completed')} completed (their last steps), ${count('skipped')} finished earlier, ${count('failed')} failed` +
        ` (${r.runs.length} of ${r.totalCombinations} combinations in this ${flags.shard ? 'shard' : 'sweep'}; ${r.seconds.toFixed(1)} s)`,
    );
    this.log(`results: ${r.resultsFile}`);
    this.log(`checkpoints: ${r.artifactsDir}/<run>/`);
    this.log(`split: ${r.splitFile}; state: ${r.stateFile}`);
    if (r.charts) this.log(`charts: ${r.charts.curves}, ${r.charts.curvesTop}, ${r.charts.metrics}\nreport: ${r.charts.report}`);
    else if (flags.shard && r.complete) {
      this.log(`when every shard is done: ${this.config.bin} merge --results <each results.shard-*.csv> --out merged.csv && ${this.config.bin} chart --results merged.csv`);
    }
    const failed = r.runs.filter((x) => x.outcome === 'failed');
    if (failed.length) {
      this.error(`${failed.length} run(s) failed:\n${failed.map((f) => `  ${f.runId}: ${f.error}`).join('\n')}\nRe-running the sweep retries them (e.g. after lowering --lr).`, { exit: 1 });
    }
  }
}
