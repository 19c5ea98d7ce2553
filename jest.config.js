/** Tests mirror src/; ts-jest compiles them without a separate build. */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: '<rootDir>/test/jest-env.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  setupFiles: ['<rootDir>/test/setup-env.js'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testTimeout: 120000,
  maxWorkers: 2,
};
