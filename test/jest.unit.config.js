import { jestConfig } from '../jest.preset.js';

// The cross-service suites live directly under test/<kind>/ rather than in a package's test/ folder.
export default {
  ...jestConfig('unit'),
  rootDir: import.meta.dirname,
  testMatch: ['<rootDir>/unit/**/*.test.ts'],
};
