/**
 * The optimisation history as cumulative variants (node dist/bench/ab.js ... --chain all): each adds
 * one change to the previous, from the formulation melseg started with to today's default, then the
 * optional nchwc lowering. Changes without a switch (shape reads that kept activations alive, the
 * split x copies and layout choice of the weight gradient) are in every variant, 'original' too.
 */
import type { Lowering } from '../onnx/graph';

export interface ChainVariant {
  name: string;
  lowering: Lowering;
  session?: Record<string, unknown>;
}

const ORIGINAL: Lowering = { convWeightGrad: 'im2col', batchNorm: 'elementwise', upsampleConv: 'resize', dilatedPool: 'op', flipSwap: 'slice' };

export function chain(nchwcBlock: number): ChainVariant[] {
  const drop = (...keys: (keyof Lowering)[]) => Object.fromEntries(Object.entries(ORIGINAL).filter(([k]) => !keys.includes(k as keyof Lowering))) as Lowering;
  const v: ChainVariant[] = [
    { name: 'original', lowering: ORIGINAL, session: { enableMemPattern: true } },
    { name: '+mem pattern off', lowering: ORIGINAL },
    { name: '+shifted dW', lowering: drop('convWeightGrad') },
    { name: '+flipSwap product', lowering: drop('convWeightGrad', 'flipSwap') },
    { name: '+BN one-pass', lowering: drop('convWeightGrad', 'flipSwap', 'batchNorm') },
    { name: '+sub-pixel up-conv', lowering: drop('convWeightGrad', 'flipSwap', 'batchNorm', 'upsampleConv') },
    { name: '+quadrant pool = default', lowering: {} },
  ];
  if (nchwcBlock) v.push({ name: '+nchwc (option)', lowering: { nchwc: nchwcBlock } });
  return v;
}
