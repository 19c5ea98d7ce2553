/**
 * npm run bench:ops [-- --suite NAME[,NAME]] [--rounds R] [--reps K] [--threads T]
 *
 * Micro-benchmarks of alternative formulations of the same op (the evidence behind the choices in
 * src/ops): each suite builds the alternatives at the shapes the study's networks produce and times
 * them in interleaved rounds (median ms; the machine's load falls on all alike).
 */
import type { Graph, Value } from '../onnx/graph';
import { convAttrs, flipSwap } from '../ops/conv-attrs';
import { pointwiseWeightGrad, shiftedWeightGrad } from '../ops/conv-weight-grad';
import { im2col } from '../ops/im2col';
import { nchwcConvs } from '../ops/Nchwc';
import { parseArgs, table } from './args';
import { prepare, race, withGradients, type Case } from './harness';
import { upsampleConv3x3 } from '../ops/upsample-conv';
import { pixelShuffleConvTranspose, quadrantConv, quadrantConvTranspose } from '../ops/quadrant-conv';

interface Suite {
  about: string;
  /** shape label -> alternatives */
  groups(): { label: string; flop?: number; cases: Case[] }[];
}

/** [N, C, O, H] of 3x3 convs met in UNet at (128 px, width 0.25, batch 8) and (256, 1, 2). */
const CONV_SHAPES: [number, number, number, number][] = [
  [8, 16, 16, 128], [8, 64, 64, 32], [8, 256, 256, 8], [2, 64, 64, 256], [2, 128, 64, 256], [2, 512, 512, 32], [2, 1024, 1024, 16],
];

function im2colWeightGrad(g: Graph, x: Value, dy: Value, O: number, k: number, pads: number[]): Value {
  const H = dy.shape[2] as number;
  const cols = im2col(g, x, [k, k], [1, 1], [1, 1], pads as [number, number, number, number], [H, dy.shape[3] as number]);
  const dy2 = g.op1('Reshape', [g.op1('Transpose', [dy], { perm: [1, 0, 2, 3] }), g.i64([O, -1])]);
  return g.op1('Gemm', [dy2, cols], { transB: 1 });
}

const RESIZE = { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' };

/** flipSwap as a Slice with step -1 on both spatial axes, then Transpose (lowering.flipSwap = 'slice'). */
function flipSwapSlice(g: Graph, w: Value): Value {
  g.lowering = { ...g.lowering, flipSwap: 'slice' };
  return flipSwap(g, w);
}

const BLOCK = 16;

/** [N, C, H] of UNet levels at (128, 0.25, 8) and (256, 1, 2) */
const LEVELS: [number, number, number][] = [[8, 16, 128], [8, 64, 32], [8, 128, 16], [2, 64, 256], [2, 256, 64], [2, 512, 32]];

/** [N, C, H] activation shapes of the widest UNet levels at (128, 0.25, 8) and (256, 1, 2) */
const ACTS: [number, number, number][] = [[8, 16, 128], [8, 64, 32], [2, 64, 256], [2, 256, 64]];

const SUITES: Record<string, Suite> = {
  bn: {
    about: 'BatchNorm (training) forward + backward: one-pass BatchNormalization kernels vs the elementwise lowering (lowering.batchNorm)',
    groups: () => ACTS.map(([N, C, H]) => {
      const make = (bn: 'fused' | 'elementwise') => withGradients(bn, (g) => {
        g.lowering = { batchNorm: bn };
        const [x, gm, bt] = [g.input('x', [N, C, H, H]), g.input('gamma', [C]), g.input('beta', [C])];
        return { y: g.op('BatchNormTrain', [x, gm, bt], { epsilon: 1e-5 })[0], wrt: [x, gm, bt] };
      });
      return { label: `N${N} C${C} ${H}x${H}`, cases: [make('elementwise'), make('fused')] };
    }),
  },
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
    about: 'MaxPool 2x2 forward + backward: MaxUnpool to the argmax (melseg, as PyTorch) vs an equality mask (ties: every maximum)',
    groups: () => ACTS.map(([N, C, H]) => ({
      label: `N${N} C${C} ${H}x${H}`,
      cases: [
        withGradients('maxunpool', (g) => { const x = g.input('x', [N, C, H, H]); return { y: g.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] })[0], wrt: [x] }; }),
        {
          name: 'mask',
          build: (g: Graph) => {
            // dx = upsample(dy) * (x == upsample(maxpool(x))): the alternative, written out by hand
            const x = g.input('x', [N, C, H, H]);
            const dy = g.input('dy', [N, C, H / 2, H / 2]);
            const m = g.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] })[0];
            const up = (v: Value) => g.op1('Resize', [v, null, g.f32([1, 1, 2, 2])], RESIZE);
            return [g.op1('Where', [g.op1('Equal', [x, up(m)]), up(dy), g.f32(0)])];
          },
        },
      ],
    })),
  },
  'two-by-two': {
    about: 'forward + backward of the 2x2 layers: the ONNX op vs a 1x1 conv and a data move (src/ops/quadrant-conv.ts)',
    groups: () => LEVELS.flatMap(([N, C, H]) => {
      const pool = (g: Graph) => [g.input('x', [N, C, H, H]), g.input('w', [C, C, 2, 2]), g.input('b', [C])];
      const up = (g: Graph) => [g.input('x', [N, 2 * C, H / 2, H / 2]), g.input('w', [2 * C, C, 2, 2]), g.input('b', [C])];
      return [
        {
          label: `pool N${N} C${C} ${H}->${H / 2}`,
          cases: [
            withGradients('op', (g) => { const [x, w, b] = pool(g); return { y: g.op1('Conv', [x, w, b], { dilations: [H / 2, H / 2] }), wrt: [x, w, b] }; }),
            withGradients('1x1+move', (g) => { const [x, w, b] = pool(g); return { y: quadrantConv(g, x, w, b), wrt: [x, w, b] }; }),
          ],
        },
        {
          label: `dilated up N${N} ${2 * C}->${C} ${H / 2}->${H}`,
          cases: [
            withGradients('op', (g) => { const [x, w, b] = up(g); return { y: g.op1('ConvTranspose', [x, w, b], { dilations: [H / 2, H / 2] }), wrt: [x, w, b] }; }),
            withGradients('1x1+move', (g) => { const [x, w, b] = up(g); return { y: quadrantConvTranspose(g, x, w, b), wrt: [x, w, b] }; }),
          ],
        },
        {
          label: `strided up N${N} ${2 * C}->${C} ${H / 2}->${H}`,
          cases: [
            withGradients('op', (g) => { const [x, w, b] = up(g); return { y: g.op1('ConvTranspose', [x, w, b], { strides: [2, 2] }), wrt: [x, w, b] }; }),
            withGradients('1x1+move', (g) => { const [x, w, b] = up(g); return { y: pixelShuffleConvTranspose(g, x, w, b), wrt: [x, w, b] }; }),
          ],
        },
      ];
    }),
  },
  nchwc: {
    about: `3x3 conv forward: onnxruntime Conv (weight as an input) vs ReorderInput -> com.microsoft.nchwc Conv -> ReorderOutput (block ${BLOCK})`,
    groups: () => ([[8, 3, 16, 128], [8, 16, 16, 128], [8, 16, 32, 64], [8, 32, 32, 64], [8, 64, 64, 32], [8, 128, 128, 16], [8, 256, 256, 8],
      [2, 64, 64, 256], [2, 128, 128, 128], [2, 256, 256, 64], [2, 512, 512, 32], [2, 1024, 1024, 16]] as const).map(([N, C, O, H]) => {
      const io = (g: Graph) => [g.input('x', [N, C, H, H]), g.input('w', [O, C, 3, 3])];
      return {
        label: `N${N} C${C} O${O} ${H}x${H}`,
        flop: 2 * N * C * O * H * H * 9,
        cases: [
          { name: 'conv', build: (g: Graph) => [g.op1('Conv', io(g), { pads: [1, 1, 1, 1] })] },
          { name: 'nchwc', build: (g: Graph) => { const y = g.op1('Conv', io(g), { pads: [1, 1, 1, 1] }); nchwcConvs(g, BLOCK, () => true); return [y]; } },
        ],
      };
    }),
  },
  'flip-swap': {
    about: 'the dX weight (flipped taps, swapped channels): Slice(step -1) + Transpose vs Transpose + MatMul by the reversal',
    groups: () => ([[64, 64], [256, 256], [1024, 512], [1024, 1024]] as const).map(([O, C]) => ({
      label: `w ${O}x${C}x3x3`,
      cases: [
        { name: 'slice+transpose', build: (g: Graph) => [flipSwapSlice(g, g.input('w', [O, C, 3, 3]))] },
        { name: 'transpose+matmul', build: (g: Graph) => [flipSwap(g, g.input('w', [O, C, 3, 3]))] },
      ],
    })),
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
          { name: 'im2col', build: (g) => { const [x, dy] = io(g); return [im2colWeightGrad(g, x, dy, O, 3, pads)]; } },
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
  for (const n of names) {
    const s = SUITES[n];
    console.log(`\n== ${n}: ${s.about}`);
    const rows: string[][] = [];
    let header: string[] | undefined;
    for (const grp of s.groups()) {
      const prepared = [];
      for (const c of grp.cases) prepared.push(await prepare(c, (a.threads as number) ?? 2));
      const r = await race(prepared, (a.rounds as number) ?? 3, (a.reps as number) ?? 3);
      header ??= ['shape', ...grp.cases.map((c) => `${c.name} ms`)];
      const best = Math.min(...r.values());
      rows.push([grp.label, ...grp.cases.map((c) => {
        const ms = r.get(c.name)!;
        const gf = grp.flop ? ` ${(grp.flop / ms / 1e6).toFixed(0)}GF/s` : '';
        return `${ms.toFixed(1)}${gf}${ms === best ? ' *' : ''}`;
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
