/** jest: TypeScript through ts-jest, CommonJS throughout (yargs 17, not the ESM-only 18). */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testTimeout: 120000,
  /* A session pin directory per test file, stopped when the file ends (test/helpers/isolate.ts). */
  setupFilesAfterEnv: ['<rootDir>/test/helpers/isolate.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
};
