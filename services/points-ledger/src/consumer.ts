import { setTimeout as sleep } from 'node:timers/promises';
import { type TopicNames, topicNames } from '@paysync/contracts';
import { createConsumer } from '@paysync/kafka';
import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import type { LedgerMetrics } from './metrics.ts';
import { createOutboxRelay } from './outbox.ts';
import { type PipelineDeps, processRecords, type RawRecord } from './pipeline.ts';

export type LedgerConsumerOptions = PipelineDeps & {
  kafka: Kafka;
  producer: Producer;
  metrics: LedgerMetrics;
  groupId: string;
  /** Topic names; the canonical ones unless a prefix is configured (shared clusters, tests). */
  topics?: TopicNames;
  /** Observations per database transaction (default 100). */
  batchSize?: number;
  /**
   * Partitions applied at the same time (default 1), each chunk in its own transaction: what as many
   * replicas of the ledger would do, within one process. One partition's records stay in order.
   */
  partitionsConcurrently?: number;
  /** Consumer session timeout (default 30 s); the heartbeat runs at a tenth of it. */
  sessionTimeoutMs?: number;
  /** Called when the consumer crashed and will not recover: the process should exit. */
  onCrash?: (err: unknown) => void;
};

/** Pause before a partition with a locked order is fetched again. */
const BLOCKED_RETRY_MS = 500;

export type LedgerConsumer = { consumer: Consumer; start(): Promise<void>; stop(): Promise<void> };

/**
 * The points-ledger's Kafka consumer. Per chunk of a partition's batch: apply in one MySQL
 * transaction, publish what the commit produced (acks=all), and only then resolve the offsets.
 * A crash anywhere before the offsets are committed means the chunk is consumed again, and the
 * journal and unique keys make that a no-op apart from re-publishing.
 */
export function createLedgerConsumer(opts: LedgerConsumerOptions): LedgerConsumer {
  const topics = opts.topics ?? topicNames();
  const chunkSize = opts.batchSize ?? 100;
  const { logger, metrics, producer } = opts;
  const relay = createOutboxRelay({
    pool: opts.pool,
    producer,
    topics,
    logger,
    onFailure: () => metrics.publishFailures.inc(),
  });
  const consumer = createConsumer(opts.kafka, {
    groupId: opts.groupId,
    sessionTimeout: opts.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: Math.max(500, Math.floor((opts.sessionTimeoutMs ?? 30_000) / 10)),
    maxBytesPerPartition: 1024 * 1024,
    retry: { retries: 5 },
  });

  /** Applies a chunk; returns the offset of its first record left for later (a locked order), if any. */
  async function handleChunk(
    records: RawRecord[],
    heartbeat: () => Promise<void>,
  ): Promise<string | undefined> {
    const { outcomes, publications } = await processRecords(opts, records, heartbeat);
    metrics.batchSize.observe(records.length);
    // Committed with the settlement in the outbox: the relay sends them; nothing here waits on Kafka.
    relay.wake();
    const committedAt = Date.now();
    let blockedAt: string | undefined;
    for (const o of outcomes) {
      if (o.outcome === 'blocked') {
        blockedAt ??= o.record.offset;
        metrics.observations.inc({ source: 'unknown', outcome: 'blocked' });
        continue;
      }
      const source = o.result?.obs.source ?? 'unknown';
      const outcome = o.result?.kind === 'applied' ? o.result.outcome : o.outcome;
      metrics.observations.inc({ source, outcome });
      if (
        o.result?.kind === 'applied' &&
        ['settled', 'late', 'refunded', 'transitioned'].includes(o.result.outcome)
      ) {
        const seconds = (committedAt - Date.parse(o.result.obs.observedAt)) / 1000;
        metrics.settleLatency.observe({ source }, Math.max(0, seconds));
      }
    }
    for (const d of publications.deadLetters) metrics.deadLetters.inc({ reason: d.reason });
    for (const a of publications.alerts) metrics.alertsPublished.inc({ type: a.type });
    return blockedAt;
  }

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload;
    // The first record left for later (its order locked elsewhere): offsets stop before it, so the
    // partition is fetched again from there; what follows it is still applied now (a repeat then).
    let blockedAt: bigint | undefined;
    for (let i = 0; i < batch.messages.length; i += chunkSize) {
      if (!isRunning() || isStale()) return;
      const chunk = batch.messages.slice(i, i + chunkSize).map((m) => ({
        topic: batch.topic,
        partition: batch.partition,
        offset: m.offset,
        value: m.value,
        timestamp: m.timestamp,
      }));
      const blocked = await handleChunk(chunk, heartbeat);
      if (blocked !== undefined && blockedAt === undefined) blockedAt = BigInt(blocked);
      for (const r of chunk) {
        if (blockedAt !== undefined && BigInt(r.offset) >= blockedAt) break;
        resolveOffset(r.offset);
      }
      await commitOffsetsIfNecessary();
      await heartbeat();
    }
    if (blockedAt !== undefined) await sleep(BLOCKED_RETRY_MS);
  }

  return {
    consumer,
    async start() {
      consumer.on(consumer.events.CRASH, (event) => {
        const { error, restart } = event.payload as { error: Error; restart: boolean };
        logger.error({ err: error, restart }, 'ledger consumer crashed');
        if (!restart) opts.onCrash?.(error);
      });
      relay.start();
      await consumer.connect();
      await consumer.subscribe({ topic: topics.paymentObservations, fromBeginning: true });
      await consumer.run({
        eachBatchAutoResolve: false,
        autoCommit: true,
        partitionsConsumedConcurrently: opts.partitionsConcurrently ?? 1,
        eachBatch,
      });
    },
    async stop() {
      // kafkajs waits for the running eachBatch to finish its current chunk and commits offsets;
      // then the relay sends what is left in the outbox.
      await consumer.disconnect();
      await relay.stop();
    },
  };
}
