import { Args, Flags } from '@oclif/core';
import { MelsegCommand } from '../cli/command';
import { NAMED_MIXES, parseMix, readLabels } from '../data/labels';
import { comparePaired, labelsOfEvaluation, readScoredImages, type Gain, type GroupComparison, type PairedComparison } from '../infer/paired';
import { FAIL_IOU } from '../infer/summary';

export default class Compare extends MelsegCommand {
  static override summary = 'A candidate evaluation against a baseline, image by image: the paired gain in IoU with its standard error, per label and reweighted.';
  static override description = `Reads two per-image CSVs written by melseg evaluate on the same images and gives, on the images both
scored: each mean, the gain (candidate - baseline) with the standard error of the per-image differences, how
many images got better and worse, and the images below IoU ${FAIL_IOU} with each. Labels (default: those the
baseline's evaluation used, from its .summary.json) give the same per label, and --weights-from reweights to a
label mix. A gain is worth believing when it is several standard errors from zero.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> runs/ship/eval_test.csv runs/ks2/eval_test.csv',
    '<%= config.bin %> <%= command.id %> base.csv candidate.csv --weights-from isic2017-validation',
  ];
  static override args = {
    baseline: Args.string({ description: 'Per-image CSV of the baseline (melseg evaluate).', required: true }),
    candidate: Args.string({ description: 'Per-image CSV of the candidate, on the same images.', required: true }),
  };
  static override flags = {
    labels: Flags.string({ summary: "Labels CSV (ISIC 2017 Part 3, or id,label) for figures per label (default: the one the baseline's evaluation used)." }),
    'no-labels': Flags.boolean({ summary: 'No figures per label.' }),
    'weights-from': Flags.string({
      summary: `Also the gain with the images reweighted to a label mix: ${Object.keys(NAMED_MIXES).join(', ')}, label=count pairs, or a labels CSV.`,
    }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Compare);
    const mix = flags['weights-from'] ? { name: flags['weights-from'], counts: parseMix(flags['weights-from']) } : undefined;
    const base = readScoredImages(args.baseline);
    const candidate = readScoredImages(args.candidate);
    const labelsFile = flags['no-labels'] ? undefined : (flags.labels ?? labelsOfEvaluation(args.baseline));
    const labels = labelsFile ? readLabels(labelsFile) : undefined;
    for (const line of lines(comparePaired(base, candidate, { labels, mix }), labelsFile)) this.log(line);
  }
}

const f4 = (x: number) => x.toFixed(4);
const signed = (g: Gain) => `${g.gain >= 0 ? '+' : ''}${f4(g.gain)} ± ${f4(g.se)}`;
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

function row(label: string, g: GroupComparison): string {
  return `  ${label.padEnd(22)} ${String(g.n).padStart(4)}  ${f4(g.base)}  ${f4(g.candidate)}  ${signed(g).padStart(17)}  ${String(g.better).padStart(4)} / ${String(g.worse).padEnd(4)}  ${String(g.failsBase).padStart(4)} -> ${g.failsCandidate}`;
}

function lines(c: PairedComparison, labelsFile?: string): string[] {
  const out = [
    `baseline  ${c.base.file}${c.base.settings ? ` (${c.base.settings})` : ''}`,
    `candidate ${c.candidate.file}${c.candidate.settings ? ` (${c.candidate.settings})` : ''}`,
    `paired on ${c.all.n} images${c.onlyBase || c.onlyCandidate ? ` (left out: ${c.onlyBase} scored by the baseline only, ${c.onlyCandidate} by the candidate only)` : ''}${labelsFile ? `; labels from ${labelsFile}` : ''}`,
    `  ${'images'.padEnd(22)}    n  base    cand.   gain ± s.e.        better/worse  IoU<${FAIL_IOU}`,
    row('all', c.all),
    ...Object.entries(c.groups ?? {}).map(([g, x]) => row(g, x)),
  ];
  const w = c.reweighted;
  if (w) {
    const shares = Object.entries(w.shares).map(([g, x]) => `${g} ${pct(x)}`).join(', ');
    out.push(`  ${'reweighted'.padEnd(22)}       ${f4(w.gain.base)}  ${f4(w.gain.candidate)}  ${signed(w.gain).padStart(17)}                ${pct(w.failsBase)} -> ${pct(w.failsCandidate)}`);
    out.push(`  (reweighted to ${w.mix}: ${shares})`);
  }
  return out;
}
