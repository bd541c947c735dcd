import { jestConfig } from '../jest.preset.js';

// The whole-stack fault suites restart the shared MariaDB and Kafka: they run alone, after every
// integration test (`turbo run test:faults --concurrency=1`), one file at a time.
export default {
  ...jestConfig('faults'),
  rootDir: import.meta.dirname,
  testMatch: ['<rootDir>/faults/**/*.test.ts'],
};
