/**
 * Unit specs beside the code (src/**\/*.spec.ts, and the workspaces' packages/*\/src/**\/*.spec.ts)
 * and e2e suites in test/ (real HTTP + real PostgreSQL).
 * A run leaves nothing behind: global-setup/teardown keep its registry (test/support/test-run.mjs),
 * the environment releases what each file's helpers still hold, and Jest's cache is in node_modules.
 */
module.exports = {
  rootDir: '.',
  testEnvironment: '<rootDir>/test/support/test-environment.mjs',
  testMatch: [
    '<rootDir>/src/**/*.spec.ts',
    '<rootDir>/packages/*/src/**/*.spec.ts',
    '<rootDir>/test/**/*.e2e-spec.ts',
  ],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
  cacheDirectory: '<rootDir>/node_modules/.cache/jest',
  testTimeout: 60000,
  maxWorkers: 2,
};
