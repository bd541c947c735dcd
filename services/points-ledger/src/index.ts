export { type LedgerService, ledgerService } from './compose.ts';
export { type LedgerConfig, ledgerEnv, loadLedgerConfig } from './config.ts';
export { createLedgerConsumer, type LedgerConsumer, type LedgerConsumerOptions } from './consumer.ts';
export { createLedgerMetrics, type LedgerMetrics } from './metrics.ts';
export { type PipelineDeps, processRecords, type RawRecord } from './pipeline.ts';
export { type Applied, applyObservations, type Incoming } from './settle.ts';
