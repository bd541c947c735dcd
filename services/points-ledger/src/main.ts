#!/usr/bin/env node
// points-ledger composition root: read config, build dependencies, start, stop on SIGTERM.
import { topicNames } from '@paysync/contracts';
import { createPool } from '@paysync/db';
import { createIdempotentProducer, createKafka } from '@paysync/kafka';
import {
  createLogger,
  createRegistry,
  createShutdown,
  exitOnSignals,
  startOpsServer,
} from '@paysync/observability';
import { archiveEvidenceReader } from '@paysync/orders';
import { loadLedgerConfig } from './config.ts';
import { createLedgerConsumer } from './consumer.ts';
import { createLedgerMetrics } from './metrics.ts';

const config = loadLedgerConfig();
const logger = createLogger({ service: 'points-ledger', level: config.LOG_LEVEL });
for (const w of config.warnings) logger.warn({ variable: w.variable }, `${w.variable}: ${w.message}`);
const pool = createPool({
  url: config.MYSQL_URL,
  connectionLimit: config.LEDGER_DB_POOL_SIZE,
  lockWaitTimeoutSeconds: config.LEDGER_LOCK_WAIT_TIMEOUT_S,
});
const kafka = createKafka({
  brokers: config.KAFKA_BROKERS,
  clientId: 'paysync-points-ledger',
  logger,
  ...config.kafkaSecurity,
});
const producer = createIdempotentProducer(kafka);
const admin = kafka.admin();
const topics = topicNames(config.KAFKA_TOPIC_PREFIX);
const registry = createRegistry('points-ledger');
const metrics = createLedgerMetrics(registry, {
  pool,
  admin,
  groupId: config.LEDGER_GROUP_ID,
  topic: topics.paymentObservations,
  dlqTopic: topics.paymentObservationsDlq,
});
const shutdown = createShutdown(logger);
const { reader: evidence, keys: evidenceKeys } = archiveEvidenceReader({
  pool,
  apiV3Key: config.evidence.apiV3Key,
  publicKeys: config.evidence.publicKeys,
  apiV2Key: config.evidence.apiV2Key,
  onUnopenable: (serialNo) =>
    logger.error({ serialNo }, 'an archived platform certificate does not open with the APIv3 key: ignored'),
});

const ledger = createLedgerConsumer({
  pool,
  logger,
  evidence,
  kafka,
  producer,
  metrics,
  groupId: config.LEDGER_GROUP_ID,
  topics,
  batchSize: config.LEDGER_BATCH_SIZE,
  partitionsConcurrently: config.LEDGER_PARTITIONS_CONCURRENTLY,
  sessionTimeoutMs: config.LEDGER_SESSION_TIMEOUT_MS,
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
  name: 'stop consuming (finish the current transaction, commit offsets)',
  run: () => ledger.stop(),
});
shutdown.add({ name: 'flush producer', run: () => producer.disconnect() });
shutdown.add({ name: 'close kafka admin', run: () => admin.disconnect() });
shutdown.add({ name: 'close mysql pool', run: () => pool.end() });
shutdown.add({ name: 'close ops server', run: () => ops.close() });
exitOnSignals(shutdown);

// Certificates are loaded again on an unknown serial; MySQL down at start only delays that.
await evidenceKeys
  .reload()
  .catch((err) => logger.warn({ err }, 'platform certificate archive not loaded yet'));
await producer.connect();
await admin.connect();
await ledger.start();
logger.info(
  {
    ops: ops.url,
    group: config.LEDGER_GROUP_ID,
    batchSize: config.LEDGER_BATCH_SIZE,
    evidenceKeys: evidenceKeys.serials(),
  },
  'points-ledger ready',
);
