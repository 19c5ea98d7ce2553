import { op } from './types';
import { sameShape, UNARY, type Unary } from './elementwise';

export const Identity = op<Unary>({ inputs: UNARY, shape: sameShape, grad: ({ dy }) => [dy] });
