import { ELEMENTWISE, testCases } from './fd-cases';

describe('elementwise op gradients match finite differences', () => {
  testCases(ELEMENTWISE);
});
