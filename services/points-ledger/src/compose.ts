// points-ledger's wiring: what it is built from, how it starts and in which order it stops. The
// kernel (@paysync/observability runService) runs it: configuration errors, ops endpoints, signals,
// the stop deadline and exit codes are the kernel's.
import { topicNames } from '@paysync/contracts';
import { createPool } from '@paysync/db';
import { createIdempotentProducer, kafkaFromConfig } from '@paysync/kafka';
import {
  type BuiltService,
  createRegistry,
  dependencyChecks,
  describeError,
  type ServiceDefinition,
} from '@paysync/observability';
import { archiveEvidenceReader } from '@paysync/orders';
import { type LedgerConfig, loadLedgerConfig } from './config.ts';
import { createLedgerConsumer, type LedgerConsumer } from './consumer.ts';
import { createLedgerMetrics } from './metrics.ts';

/** The built ledger, with the part a test of the running service reads (`RunningService.service`). */
export type LedgerService = BuiltService & { parts: { ledger: LedgerConsumer } };

export const ledgerService: ServiceDefinition<LedgerConfig, LedgerService> = {
  name: 'points-ledger',
  loadConfig: loadLedgerConfig,
  build(config, { logger, crash }) {
    const pool = createPool({
      url: config.MYSQL_URL,
      connectionLimit: config.LEDGER_DB_POOL_SIZE,
      lockWaitTimeoutSeconds: config.LEDGER_LOCK_WAIT_TIMEOUT_S,
    });
    const kafka = kafkaFromConfig(config, 'paysync-points-ledger', logger);
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
    const { reader: evidence, keys: evidenceKeys } = archiveEvidenceReader({
      pool,
      apiV3Key: config.evidence.apiV3Key,
      publicKeys: config.evidence.publicKeys,
      apiV2Key: config.evidence.apiV2Key,
      onUnopenable: (serialNo) =>
        logger.error(
          { serialNo },
          'an archived platform certificate does not open with the APIv3 key: ignored',
        ),
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
      onCrash: (err) => crash('consumer crashed', err),
    });
    return {
      registry,
      ops: { checks: dependencyChecks({ mysql: pool, kafka: admin }) },
      async start() {
        // Certificates are loaded again on an unknown serial; MySQL down at start only delays that.
        await evidenceKeys
          .reload()
          .catch((err: unknown) =>
            logger.warn({ error: describeError(err) }, 'platform certificate archive not loaded yet'),
          );
        await producer.connect();
        await admin.connect();
        await ledger.start();
      },
      stop: [
        { name: 'stop consuming (finish the current transaction, commit offsets)', run: () => ledger.stop() },
        { name: 'flush producer', run: () => producer.disconnect() },
        { name: 'close kafka admin', run: () => admin.disconnect() },
        { name: 'close mysql pool', run: () => pool.end() },
      ],
      ready: () => ({
        group: config.LEDGER_GROUP_ID,
        batchSize: config.LEDGER_BATCH_SIZE,
        evidenceKeys: evidenceKeys.serials(),
      }),
      parts: { ledger },
    };
  },
};
