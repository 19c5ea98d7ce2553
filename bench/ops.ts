/**
 * npm run bench:ops [-- --suite NAME[,NAME]] [--rounds R] [--reps K] [--threads T]
 *
 * Micro-benchmarks of alternative formulations of the same op (the evidence behind the rules in
 * src/ops and the passes in src/passes): each suite builds the alternatives at the shapes the
 * study's networks produce and times them in interleaved rounds (median ms; the machine's load falls
 * on all alike).
 */
import type { Graph, Value } from '../src/onnx/graph';
import { nchwcBlockSize } from '../src/onnx/cpu';
import { convAttrs, flipSwap } from '../src/ops/conv-attrs';
import { im2colWeightGrad } from '../src/ops/Conv';
import { pointwiseWeightGrad, shiftedWeightGrad } from '../src/ops/conv-weight-grad';
import { maxPoolGradByComparisonPass } from '../src/passes/maxpool-grad';
import { nchwcPass } from '../src/passes/nchwc';
import { quadrantConv } from '../src/passes/quadrant-conv';
import { spaceToDepthByTransposePass } from '../src/passes/space-to-depth';
import { upsampleConv3x3 } from '../src/passes/subpixel-upconv';
import { parseArgs, table } from './args';
import { prepare, race, withGradients, withPasses, type Case } from './harness';

interface Suite {
  about: string;
  /** shape label -> alternatives (block: this CPU's NCHWc block size, 0 without the kernels) */
  groups(m: { block: number }): { label: string; flop?: number; cases: Case[] }[];
}

/** [N, C, O, H] of 3x3 convs met in UNet at (128 px, width 0.25, batch 8) and (256, 1, 2). */
const CONV_SHAPES: [number, number, number, number][] = [
  [8, 16, 16, 128], [8, 64, 64, 32], [8, 256, 256, 8], [2, 64, 64, 256], [2, 128, 64, 256], [2, 512, 512, 32], [2, 1024, 1024, 16],
];

/** [N, C, O, H] of 3x3 convs around the NCHWc filter's edges (src/passes/nchwc.ts) */
const NCHWC_SHAPES: [number, number, number, number][] = [
  [8, 3, 16, 128], [8, 16, 16, 128], [8, 16, 32, 64], [8, 32, 32, 64], [8, 64, 64, 32], [8, 128, 128, 16], [8, 256, 256, 8],
  [2, 64, 64, 256], [2, 128, 128, 128], [2, 256, 256, 64], [2, 512, 512, 32], [2, 1024, 1024, 16],
];

const RESIZE = { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' };

/** [N, C, H] of UNet levels at (128, 0.25, 8) and (256, 1, 2) */
const LEVELS: [number, number, number][] = [[8, 16, 128], [8, 64, 32], [8, 128, 16], [2, 64, 256], [2, 256, 64], [2, 512, 32]];

/** [N, C, H] activation shapes of the widest UNet levels at (128, 0.25, 8) and (256, 1, 2) */
const ACTS: [number, number, number][] = [[8, 16, 128], [8, 64, 32], [2, 64, 256], [2, 256, 64]];

const SUITES: Record<string, Suite> = {
  'relu-grad': {
    about: 'ReLU input gradient from its output y: Where(y > 0, dy, 0) vs dy * Cast(y > 0) vs dy * Sign(y)',
    groups: () => ACTS.map(([N, C, H]) => {
      const io = (g: Graph) => [g.input('y', [N, C, H, H]), g.input('dy', [N, C, H, H])];
      return {
        label: `N${N} C${C} ${H}x${H}`,
        cases: [
          { name: 'where', build: (g: Graph) => { const [y, dy] = io(g); return [g.op1('Where', [g.op1('Greater', [y, g.f32(0)]), dy, g.f32(0)])]; } },
          { name: 'cast-mul', build: (g: Graph) => { const [y, dy] = io(g); return [g.op1('Mul', [dy, g.op1('Cast', [g.op1('Greater', [y, g.f32(0)])], { to: 1 })])]; } },
          { name: 'sign-mul', build: (g: Graph) => { const [y, dy] = io(g); return [g.op1('Mul', [dy, g.op1('Sign', [y])])]; } },
        ],
      };
    }),
  },
  'maxpool-grad': {
    about: 'MaxPool 2x2 forward + backward: MaxUnpool to the argmax (the rule, CPU) vs comparisons (src/passes/maxpool-grad.ts, the GPUs)',
    groups: () => [...ACTS, [2, 128, 128] as [number, number, number], [2, 512, 32] as [number, number, number]].map(([N, C, H]) => {
      const pool = withGradients('maxunpool', (g) => { const x = g.input('x', [N, C, H, H]); return { y: g.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] })[0], wrt: [x] }; });
      return { label: `N${N} C${C} ${H}x${H}`, cases: [pool, withPasses('comparisons', pool, [maxPoolGradByComparisonPass])] };
    }),
  },
  s2d: {
    about: 'SpaceToDepth (the gradient of DepthToSpace): the op (CPU, CUDA) vs Reshape/Transpose (src/passes/space-to-depth.ts, WebGPU)',
    groups: () => [...ACTS, [2, 128, 128] as [number, number, number]].map(([N, C, H]) => {
      const op: Case = { name: 'op', build: (g: Graph) => [g.op1('SpaceToDepth', [g.input('x', [N, C, H, H])], { blocksize: 2 })] };
      return { label: `N${N} C${C} ${H}x${H}`, cases: [op, withPasses('reshape+transpose', op, [spaceToDepthByTransposePass])] };
    }),
  },
  'two-by-two': {
    about: 'forward + backward of UNet_dilate\'s pooling: the dilated 2x2 Conv vs a 1x1 conv of the quadrants (src/passes/quadrant-conv.ts)',
    groups: () => LEVELS.map(([N, C, H]) => {
      const pool = (g: Graph) => [g.input('x', [N, C, H, H]), g.input('w', [C, C, 2, 2]), g.input('b', [C])];
      return {
        label: `pool N${N} C${C} ${H}->${H / 2}`,
        cases: [
          withGradients('op', (g) => { const [x, w, b] = pool(g); return { y: g.op1('Conv', [x, w, b], { dilations: [H / 2, H / 2] }), wrt: [x, w, b] }; }),
          withGradients('1x1+move', (g) => { const [x, w, b] = pool(g); return { y: quadrantConv(g, x, w, b), wrt: [x, w, b] }; }),
        ],
      };
    }),
  },
  nchwc: {
    about: '3x3 conv forward: onnxruntime Conv (weight as an input) vs ReorderInput -> com.microsoft.nchwc Conv -> ReorderOutput (this CPU\'s block)',
    groups: ({ block }) => (block ? NCHWC_SHAPES : []).map(([N, C, O, H]) => {
      const io = (g: Graph) => [g.input('x', [N, C, H, H]), g.input('w', [O, C, 3, 3])];
      return {
        label: `N${N} C${C} O${O} ${H}x${H}`,
        flop: 2 * N * C * O * H * H * 9,
        cases: [
          { name: 'conv', build: (g: Graph) => [g.op1('Conv', io(g), { pads: [1, 1, 1, 1] })] },
          { name: 'nchwc', build: (g: Graph) => { const y = g.op1('Conv', io(g), { pads: [1, 1, 1, 1] }); nchwcPass(block, () => true).run(g); return [y]; } },
        ],
      };
    }),
  },
  'conv-dx': {
    about: '3x3 conv input gradient: Conv with the flipped, swapped weight (src/ops/conv-attrs.ts) vs ConvTranspose with the weight as is',
    groups: () => CONV_SHAPES.map(([N, C, O, H]) => ({
      label: `N${N} C${C} O${O} ${H}x${H}`,
      flop: 2 * N * C * O * H * H * 9,
      cases: [
        { name: 'conv(flip-swap)', build: (g: Graph) => [g.op1('Conv', [g.input('dy', [N, O, H, H]), flipSwap(g, g.input('w', [O, C, 3, 3]))], { pads: [1, 1, 1, 1] })] },
        { name: 'convtranspose', build: (g: Graph) => [g.op1('ConvTranspose', [g.input('dy', [N, O, H, H]), g.input('w', [O, C, 3, 3])], { pads: [1, 1, 1, 1] })] },
      ],
    })),
  },
  'upsample-conv': {
    about: 'UNet up-convolution, forward + backward: Resize x2 then 3x3 conv, vs sub-pixel forms (src/ops/upsample-conv.ts)',
    groups: () => ([[8, 256, 8], [8, 128, 16], [8, 64, 32], [8, 32, 64], [2, 1024, 16], [2, 512, 32], [2, 256, 64], [2, 128, 128]] as const).map(([N, C, H]) => {
      const O = C / 2;
      const io = (g: Graph) => [g.input('x', [N, C, H, H]), g.input('w', [O, C, 3, 3]), g.input('b', [O])];
      return {
        label: `N${N} ${C}->${O} ${H}->${2 * H}`,
        flop: 3 * 2 * N * C * O * 4 * H * H * 9,
        cases: [
          withGradients('resize+conv', (g) => { const [x, w, b] = io(g); return { y: g.op1('Conv', [g.op1('Resize', [x, null, g.f32([1, 1, 2, 2])], RESIZE), w, b], { pads: [1, 1, 1, 1] }), wrt: [x, w, b] }; }),
          withGradients('subpixel', (g) => { const [x, w, b] = io(g); return { y: upsampleConv3x3(g, x, w, b), wrt: [x, w, b] }; }),
        ],
      };
    }),
  },
  'conv-dw': {
    about: '3x3 conv weight gradient: im2col + Gemm vs shifted copies (per-image / channel-major products; x copies stacked or split)',
    groups: () => CONV_SHAPES.map(([N, C, O, H]) => {
      const pads = [1, 1, 1, 1];
      const io = (g: Graph) => [g.input('x', [N, C, H, H]), g.input('dy', [N, O, H, H]), g.input('w', [O, C, 3, 3])];
      const a = (g: Graph, w: Value) => convAttrs('Conv', w, { pads });
      return {
        label: `N${N} C${C} O${O} ${H}x${H}`,
        flop: 2 * N * C * O * H * H * 9,
        cases: [
          { name: 'im2col', build: (g) => { const [x, dy, w] = io(g); return [im2colWeightGrad(g, x, dy, w, a(g, w))]; } },
          { name: 'batched-stack', build: (g) => { const [x, dy, w] = io(g); return [shiftedWeightGrad(g, x, dy, w, a(g, w), 'batched', 'stack')]; } },
          { name: 'batched-split', build: (g) => { const [x, dy, w] = io(g); return [shiftedWeightGrad(g, x, dy, w, a(g, w), 'batched', 'split')]; } },
          { name: 'batched-split-all', build: (g) => { const [x, dy, w] = io(g); return [shiftedWeightGrad(g, x, dy, w, a(g, w), 'batched', 'split-all')]; } },
          { name: 'channels-stack', build: (g) => { const [x, dy, w] = io(g); return [shiftedWeightGrad(g, x, dy, w, a(g, w), 'channels', 'stack')]; } },
          { name: 'channels-split', build: (g) => { const [x, dy, w] = io(g); return [shiftedWeightGrad(g, x, dy, w, a(g, w), 'channels', 'split')]; } },
        ],
      };
    }),
  },
  'pointwise-dw': {
    about: '1x1 conv weight gradient: per-image products vs channel-major Gemm',
    groups: () => ([[8, 16, 1, 128], [2, 64, 1, 256], [8, 256, 512, 8], [2, 1024, 2048, 16], [2, 128, 256, 128]] as const).map(([N, C, O, H]) => {
      const io = (g: Graph) => [g.input('x', [N, C, H, H]), g.input('dy', [N, O, H, H]), g.input('w', [O, C, 1, 1])];
      return {
        label: `N${N} C${C} O${O} ${H}x${H}`,
        flop: 2 * N * C * O * H * H,
        cases: [
          { name: 'batched', build: (g) => { const [x, dy, w] = io(g); return [pointwiseWeightGrad(g, x, dy, w, 'batched')]; } },
          { name: 'channels', build: (g) => { const [x, dy, w] = io(g); return [pointwiseWeightGrad(g, x, dy, w, 'channels')]; } },
        ],
      };
    }),
  },
};

async function main(): Promise<void> {
  const usage = `usage: npm run bench:ops -- [--suite ${Object.keys(SUITES).join(',')}] [--rounds 3] [--reps 3] [--threads 2]`;
  const a = parseArgs(process.argv.slice(2), { suite: 'string', rounds: 'number', reps: 'number', threads: 'number' }, usage);
  const names = a.suite ? (a.suite as string).split(',') : Object.keys(SUITES);
  for (const n of names) if (!SUITES[n]) throw new Error(`--suite ${n}: expected one of ${Object.keys(SUITES).join(', ')}`);
  const block = await nchwcBlockSize();
  for (const n of names) {
    const s = SUITES[n];
    console.log(`\n== ${n}: ${s.about}`);
    const rows: string[][] = [];
    let header: string[] | undefined;
    for (const grp of s.groups({ block })) {
      const prepared = [];
      for (const c of grp.cases) prepared.push(await prepare(c, (a.threads as number) ?? 2));
      const r = await race(prepared, (a.rounds as number) ?? 3, (a.reps as number) ?? 3);
      header ??= ['shape', ...grp.cases.map((c) => `${c.name} ms (CPU ms)`)];
      const times = [...r.values()];
      const best = Math.min(...times.map((t) => t.cpu));
      rows.push([grp.label, ...grp.cases.map((c) => {
        const t = r.get(c.name) ?? { wall: NaN, cpu: NaN };
        const gf = grp.flop ? ` ${(grp.flop / t.wall / 1e6).toFixed(0)}GF/s` : '';
        return `${t.wall.toFixed(1)} (cpu ${t.cpu.toFixed(1)})${gf}${t.cpu === best ? ' *' : ''}`;
      })]);
      for (const p of prepared) await p.session.release();
    }
    console.log(table([header!, ...rows]));
  }
}

main().catch((e) => {
  console.error(`bench:ops: ${(e as Error).message}`);
  process.exit(1);
});
