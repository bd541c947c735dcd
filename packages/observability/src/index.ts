export { describeError, type ErrorDescription } from './errors.ts';
export { type HttpServer, startHttpServer } from './http-server.ts';
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
  dependencyChecks,
  type OpsServer,
  type OpsServerOptions,
  type ReadinessCheck,
  startOpsServer,
} from './ops-server.ts';
export {
  type BuiltService,
  DEFAULT_STOP_DEADLINE_MS,
  type ErrorClass,
  EXIT_CODES,
  type ExitCode,
  type KernelConfig,
  type OneShotDefinition,
  type RunningService,
  runOnce,
  runService,
  type ServiceContext,
  type ServiceDefinition,
  ServiceStartError,
  type StartOptions,
  startService,
} from './service.ts';
export { createShutdown, exitOnSignals, type Shutdown, type ShutdownStep } from './shutdown.ts';
