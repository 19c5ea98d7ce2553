import { op } from './types';
import { BINARY, boolBroadcast, type Binary } from './elementwise';

// Comparisons produce booleans: no gradient flows through them.
const compare = op<Binary>({ inputs: BINARY, shape: boolBroadcast, grad: () => [null, null] });
export const Equal = compare;
export const Greater = compare;
export const Less = compare;
