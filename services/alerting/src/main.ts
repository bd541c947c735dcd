#!/usr/bin/env node
// alerting composition root: read config and routes, build dependencies, start, stop on SIGTERM.
import { ConfigError } from '@paysync/config';
import { topicNames } from '@paysync/contracts';
import { createPool } from '@paysync/db';
import { createKafka } from '@paysync/kafka';
import {
  createLogger,
  createRegistry,
  createShutdown,
  exitOnSignals,
  startOpsServer,
} from '@paysync/observability';
import { type AlertingConfig, loadAlertingConfig } from './config.ts';
import { RoutesConfigError } from './errors.ts';
import { loadRoutes, type RoutesFile } from './routes.ts';
import { processSecrets } from './secrets.ts';
import { createAlertingService } from './service.ts';

let config: AlertingConfig;
let routes: RoutesFile;
try {
  config = loadAlertingConfig();
  routes = loadRoutes(config.ALERTING_ROUTES_FILE, { ...processSecrets, production: config.production });
} catch (err) {
  if (!(err instanceof ConfigError) && !(err instanceof RoutesConfigError)) throw err;
  console.error(err.message);
  process.exit(1);
}

const logger = createLogger({ service: 'alerting', level: config.LOG_LEVEL });
for (const w of config.warnings) logger.warn({ variable: w.variable }, `${w.variable}: ${w.message}`);
const pool = createPool({ url: config.MYSQL_URL, connectionLimit: config.ALERTING_DB_POOL_SIZE });
const kafka = createKafka({
  brokers: config.KAFKA_BROKERS,
  clientId: 'paysync-alerting',
  logger,
  ...config.kafkaSecurity,
});
const admin = kafka.admin();
const registry = createRegistry('alerting');
const shutdown = createShutdown(logger);

const service = createAlertingService({
  pool,
  kafka,
  registry,
  logger,
  routes,
  topics: topicNames(config.KAFKA_TOPIC_PREFIX),
  settings: {
    groupId: config.ALERTING_GROUP_ID,
    http: { host: config.ALERTING_HOST, port: config.ALERTING_PORT, token: config.webhookToken },
    runbookBaseUrl: config.ALERTING_RUNBOOK_BASE_URL,
    batchMax: config.ALERTING_BATCH_MAX,
    breaker: {
      errorThresholdPercentage: config.ALERTING_BREAKER_ERROR_PERCENTAGE,
      volumeThreshold: config.ALERTING_BREAKER_VOLUME_THRESHOLD,
      rollingCountTimeoutMs: config.ALERTING_BREAKER_WINDOW,
      resetTimeoutMs: config.ALERTING_BREAKER_RESET_TIMEOUT,
    },
    dispatch: {
      pollIntervalMs: config.ALERTING_POLL_INTERVAL,
      retry: { baseMs: config.ALERTING_RETRY_BASE, maxMs: config.ALERTING_RETRY_MAX },
      maxAgeMs: config.ALERTING_DELIVERY_MAX_AGE,
      // Email may take connection + greeting + socket timeouts: keep the lease well past them.
      leaseMs: config.ALERTING_SEND_TIMEOUT * 4 + 10_000,
      sendTimeoutMs: config.ALERTING_SEND_TIMEOUT,
    },
  },
  onCrash: () => void shutdown.run('consumer crashed').then(() => process.exit(1)),
});

const ops = await startOpsServer({
  registry,
  host: config.METRICS_HOST,
  port: config.METRICS_PORT,
  logger,
  checks: [
    { name: 'mysql', check: async () => void (await pool.query('SELECT 1')) },
    { name: 'kafka', check: async () => void (await admin.describeCluster()) },
  ],
});

shutdown.add({ name: 'mark not ready', run: async () => ops.markShuttingDown() });
shutdown.add({
  name: 'stop intake, finish messages being sent, close channels',
  run: () => service.stop(),
});
shutdown.add({ name: 'close kafka admin', run: () => admin.disconnect() });
shutdown.add({ name: 'close mysql pool', run: () => pool.end() });
shutdown.add({ name: 'close ops server', run: () => ops.close() });
shutdown.add({ name: 'flush logs', run: async () => logger.flush() });
exitOnSignals(shutdown);

try {
  await admin.connect();
  await service.start();
} catch (err) {
  logger.fatal({ error: (err as Error).message }, 'alerting could not start');
  process.exit((await shutdown.run('start-up failed')) || 1);
}
logger.info({ url: service.httpUrl(), ops: ops.url, group: config.ALERTING_GROUP_ID }, 'alerting ready');
