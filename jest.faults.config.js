import { jestConfig } from './jest.preset.js';

// Fault suites restart the shared local MariaDB and Kafka, so they run alone, one file at a time.
export default jestConfig('faults');
