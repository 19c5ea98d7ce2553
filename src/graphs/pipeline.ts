/**
 * THE compilation pipeline, per target, in one place (as onnxruntime's graph_transformer_utils.cc):
 *
 *   forward (models + loss emit plain ops)
 *     -> rewrites      same function, faster formulations (every target)
 *     -> gradients     src/autodiff.ts (graphs that train)
 *     -> device passes composites lowered to standard ops, then what the target runs best or at all
 *     -> prune         drop what no output needs
 *
 * A pass never changes the function a graph computes: gradients and losses agree to float rounding
 * across targets (test/passes/pipeline.test.ts).
 */
import type { Graph } from '../onnx/graph';
import { refusedAtRun } from '../onnx/providers';
import type { Device } from '../onnx/session';
import { backwardSideInputsFirstPass } from '../passes/backward-side-inputs-first';
import { convTailPadPass } from '../passes/conv-tail-pad';
import { foldBatchNormPass } from '../passes/fold-batchnorm';
import { maxPoolGradByComparisonPass } from '../passes/maxpool-grad';
import { maxPoolWithoutIndicesPass } from '../passes/maxpool-indices';
import { nchwcPass } from '../passes/nchwc';
import type { Pass } from '../passes/pass';
import { quadrantDilatedConvPass } from '../passes/quadrant-conv';
import { spaceToDepthByTransposePass } from '../passes/space-to-depth';
import { subpixelUpconvPass } from '../passes/subpixel-upconv';
import type { ResolvedConfig } from './config';

/**
 * What the graphs are compiled for: an execution provider, or 'portable' (standard ONNX ops that
 * every provider runs whole: the files `melseg build-graph` writes).
 */
export type TargetDevice = Device | 'portable';

export interface Target {
  device: TargetDevice;
  /** the CPU's NCHWc block size (nchwcBlockSize() in src/onnx/cpu.ts); 0 or absent: no NCHWc kernels */
  nchwcBlock?: number;
}

export interface Pipeline {
  /** the target's name plus its optional passes: part of the graph cache's folder name */
  tag: string;
  rewrites: Pass[];
  devicePasses: Pass[];
}

const lowerComposites: Pass = {
  name: 'lower-composites',
  run: (g: Graph) => {
    const before = g.nodes.length;
    g.lower();
    return g.nodes.length - before;
  },
};

const prune: Pass = {
  name: 'prune',
  run: (g: Graph) => {
    const before = g.nodes.length;
    g.prune();
    return before - g.nodes.length;
  },
};

/**
 * The last pass of a GPU target: a graph holding a node form the provider refuses at run time
 * (src/onnx/providers.ts) is a compiler defect, stopped here rather than at the first training step.
 */
function refuseAtRunFailures(...devices: Exclude<Device, 'cpu'>[]): Pass {
  return {
    name: `check-${devices.join('-')}`,
    run: (g: Graph) => {
      for (const d of devices) {
        const bad = refusedAtRun(d, g);
        if (bad.length) throw new Error(`graph '${g.name}' for ${d}: the ${d} provider refuses ${bad.join('; ')}; its pipeline (src/graphs/pipeline.ts) must rewrite these`);
      }
      return 0;
    },
  };
}

/** The device passes a pipeline may hold, by name (benchmarks add or drop them to time one at a time). */
export const DEVICE_PASSES: Readonly<Record<string, Pass>> = Object.fromEntries(
  [lowerComposites, maxPoolGradByComparisonPass, spaceToDepthByTransposePass, maxPoolWithoutIndicesPass, convTailPadPass, prune, backwardSideInputsFirstPass].map((p) => [p.name, p]),
);

/**
 * The passes of `c` for target `t`. The CPU keeps the rules' own MaxUnpool and SpaceToDepth: there
 * the comparisons took 1.7-2.0x MaxUnpool's time for MaxPool forward + backward, and the
 * Reshape/Transpose form 2.7-4.5x SpaceToDepth's, at the UNet shapes from 32 to 256 px (1 thread;
 * npm run bench:ops -- --suite maxpool-grad,s2d --threads 1).
 */
export function pipeline(c: ResolvedConfig, t: Target): Pipeline {
  if (c.nchwc && t.device !== 'cpu') {
    throw new Error(`--nchwc with --device ${t.device}: the NCHWc lowering uses onnxruntime's CPU-only com.microsoft.nchwc kernels; drop --nchwc on ${t.device}`);
  }
  const rewrites = [subpixelUpconvPass, quadrantDilatedConvPass];
  switch (t.device) {
    case 'cpu': {
      const B = cpuUsesNchwc(c, t.nchwcBlock ?? 0) ? t.nchwcBlock ?? 0 : 0;
      return { tag: B ? `cpu-nchwc${B}` : 'cpu', rewrites, devicePasses: [lowerComposites, ...(B ? [nchwcPass(B)] : []), prune, backwardSideInputsFirstPass] };
    }
    case 'cuda':
      // no MaxUnpool kernel. CUDA's MaxPool computes Indices, but none is read once MaxUnpool is gone:
      // dropping them keeps cuda's MaxPool the form the WebGPU run proves (README "GPU")
      return { tag: 'cuda', rewrites, devicePasses: [lowerComposites, maxPoolGradByComparisonPass, maxPoolWithoutIndicesPass, prune, backwardSideInputsFirstPass, refuseAtRunFailures('cuda')] };
    case 'webgpu':
      // no MaxUnpool or SpaceToDepth kernel; MaxPool refuses its Indices output at run time; a Conv
      // on its MatMul shortcut ignores trailing pads (both found by running)
      return { tag: 'webgpu', rewrites, devicePasses: [lowerComposites, maxPoolGradByComparisonPass, spaceToDepthByTransposePass, maxPoolWithoutIndicesPass, convTailPadPass, prune, backwardSideInputsFirstPass, refuseAtRunFailures('webgpu')] };
    case 'portable':
      // what every provider runs whole: webgpu's passes, checked against both GPU providers
      return { tag: 'portable', rewrites, devicePasses: [lowerComposites, maxPoolGradByComparisonPass, spaceToDepthByTransposePass, maxPoolWithoutIndicesPass, convTailPadPass, prune, backwardSideInputsFirstPass, refuseAtRunFailures('cuda', 'webgpu')] };
  }
}

/**
 * The passes of an exported model (melseg export, src/export): its weights are constants, so
 * eval-mode BatchNorm folds into the convolutions first, then the rewrites every target gets (their
 * weight transforms become constant expressions, which onnxruntime folds when it loads the file).
 * No gradients; the device passes make the ops portable (any provider, onnxruntime-web's WebGPU
 * included): MaxPool without its dead Indices and no Conv WebGPU miscomputes, checked for both GPUs.
 */
export function exportPipeline(): Pipeline {
  return {
    tag: 'export',
    rewrites: [foldBatchNormPass, subpixelUpconvPass, quadrantDilatedConvPass],
    devicePasses: [maxPoolWithoutIndicesPass, convTailPadPass, prune, refuseAtRunFailures('cuda', 'webgpu')],
  };
}

/**
 * Whether the CPU pipeline runs the narrow convolutions on the NCHWc kernels: wherever the CPU has
 * them and the network is narrow enough for the pass's filter to pick convolutions (width <= 0.5,
 * 16-32 channels; at width 1 the pass would change nothing). The config's `nchwc` overrides. The
 * measurements behind it, train step with NCHWc against without, same graphs otherwise:
 *   AVX2, block 8 (another machine, 2 threads, wall, idle, bench:vs-torch as melseg/PyTorch):
 *     UNet 128 px w0.25 b8 0.68 -> 0.75 (1.10x); UNet_dilate 128 px w0.25 b8 1.18 -> 1.31 (1.11x)
 *   AVX-512, block 16 (2 threads, wall, npm run bench:ab with "nchwc": false / true, load ~3 on 2 cores):
 *     UNet 128 px w0.25 b16 1.10x; UNet_dilate 128 px w0.25 b8 1.07x, b16 1.09x
 *   AVX-512, block 16 (1 thread, CPU time, same command, machine busy):
 *     UNet 128 px w0.25 b8 1.04x, b16 1.17x; UNet_dilate 128 px w0.25 b8 1.05x, b16 1.19x
 * One older figure disagrees (AVX-512, 2 threads, idle: UNet_dilate b16 0.90x, README before this
 * pipeline); graphs are compiled for any batch, so where it matters compare with bench:ab and pass
 * --no-nchwc. AVX2 could not be re-measured on the AVX-512 machine this rule was last checked on.
 */
function cpuUsesNchwc(c: ResolvedConfig, block: number): boolean {
  if (c.nchwc !== undefined) {
    if (c.nchwc && !block) throw new Error('--nchwc: this onnxruntime-node build has no com.microsoft.nchwc kernels (or this CPU lacks AVX2); train without --nchwc');
    return c.nchwc;
  }
  return block > 0 && c.width <= 0.5;
}
