// Shared Jest configuration for every workspace. Tests run as native ES modules
// (node --experimental-vm-modules) with @swc/jest stripping types, so ESM-only
// dependencies such as @kubernetes/client-node load without being transformed.

/** @param {'unit' | 'integration' | 'faults'} kind */
export function jestConfig(kind) {
  return {
    testEnvironment: 'node',
    extensionsToTreatAsEsm: ['.ts'],
    moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
    transform: {
      '^.+\\.ts$': [
        '@swc/jest',
        {
          jsc: { parser: { syntax: 'typescript' }, target: 'es2024', keepClassNames: true },
          module: { type: 'es6' },
          sourceMaps: 'inline',
        },
      ],
    },
    testMatch: [`<rootDir>/test/${kind}/**/*.test.ts`],
    ...(kind !== 'unit'
      ? {
          globalSetup: new URL('./packages/testkit/src/global-setup.ts', import.meta.url).pathname,
          globalTeardown: new URL('./packages/testkit/src/global-teardown.ts', import.meta.url).pathname,
          testTimeout: kind === 'faults' ? 600_000 : 120_000,
          maxWorkers: kind === 'faults' ? 1 : 2,
          // No forceExit: every suite closes what it opens, so Jest exits by itself. A leak fails
          // the run after a grace period with what was left open (the global teardown's watchdog).
        }
      : { testTimeout: 20_000 }),
  };
}
