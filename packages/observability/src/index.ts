export { createLogger, type Logger, type LoggerOptions, REDACTED_PATHS, REDACTION_CENSOR } from './logger.ts';
export {
  Counter,
  createRegistry,
  Gauge,
  Histogram,
  LATENCY_BUCKETS_SECONDS,
  metricName,
  PAYSYNC_SERVICE_LABEL,
  type Registry,
  Summary,
} from './metrics.ts';
export {
  type CheckOutcome,
  type OpsServer,
  type OpsServerOptions,
  type ReadinessCheck,
  startOpsServer,
} from './ops-server.ts';
export { createShutdown, exitOnSignals, type Shutdown, type ShutdownStep } from './shutdown.ts';
