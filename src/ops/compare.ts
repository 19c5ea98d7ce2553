import type { OpDef } from './types';
import { boolBroadcast } from './elementwise';

// Comparisons produce booleans: no gradient flows through them.
const compare: OpDef = { shape: boolBroadcast, grad: () => [null, null] };
export const Equal = compare;
export const Greater = compare;
export const Less = compare;
export const GreaterOrEqual = compare;
