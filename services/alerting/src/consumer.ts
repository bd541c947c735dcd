import { type Clock, TOPICS, tryDecodeMessage } from '@paysync/contracts';
import { createConsumer } from '@paysync/kafka';
import type { Logger } from '@paysync/observability';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { noticeFromDomainAlert } from './domain.ts';
import type { Intake } from './intake.ts';
import type { AlertingMetrics } from './metrics.ts';
import type { Notice } from './notice.ts';

export type AlertConsumer = { consumer: Consumer; start(): Promise<void>; stop(): Promise<void> };

/**
 * Consumes `paysync.alerts.v1`. A batch's alerts are claimed in MySQL before its offsets are
 * committed, so a crash or a database outage means the batch is consumed again, and the claims'
 * unique key makes that harmless. Invalid messages are counted and skipped (they never become
 * valid); alerts older than the max age are skipped too (a new consumer group reading a week of
 * history must not page anyone).
 */
export function createAlertConsumer(opts: {
  kafka: Kafka;
  topic: string;
  groupId: string;
  intake: Intake;
  metrics: AlertingMetrics;
  logger: Logger;
  runbookBaseUrl: string;
  maxAgeMs: number;
  sessionTimeoutMs?: number;
  onCrash?: (err: unknown) => void;
  clock?: Clock;
}): AlertConsumer {
  const clock = opts.clock ?? Date.now;
  const sessionTimeout = opts.sessionTimeoutMs ?? 30_000;
  const consumer = createConsumer(opts.kafka, {
    groupId: opts.groupId,
    sessionTimeout,
    heartbeatInterval: Math.max(500, Math.floor(sessionTimeout / 10)),
    retry: { retries: 5 },
  });

  async function eachBatch({
    batch,
    resolveOffset,
    heartbeat,
    commitOffsetsIfNecessary,
    isRunning,
    isStale,
  }: EachBatchPayload) {
    if (!isRunning() || isStale()) return;
    const notices: Notice[] = [];
    for (const m of batch.messages) {
      const decoded = tryDecodeMessage(TOPICS.alerts, m.value);
      if (!decoded.ok) {
        opts.metrics.invalid.inc({ source: 'domain' });
        opts.logger.warn(
          { partition: batch.partition, offset: m.offset, reason: decoded.error.reason },
          'invalid domain alert skipped',
        );
        continue;
      }
      const alert = decoded.message;
      if (clock() - Date.parse(alert.occurredAt) > opts.maxAgeMs) {
        opts.metrics.stale.inc();
        opts.logger.warn(
          { dedupeKey: alert.dedupeKey, occurredAt: alert.occurredAt },
          'stale domain alert skipped',
        );
        continue;
      }
      notices.push(noticeFromDomainAlert(alert, opts.runbookBaseUrl));
    }
    if (notices.length > 0) await opts.intake.accept(notices);
    const last = batch.messages.at(-1);
    if (last) resolveOffset(last.offset);
    await commitOffsetsIfNecessary();
    await heartbeat();
  }

  return {
    consumer,
    async start() {
      consumer.on(consumer.events.CRASH, (event) => {
        const { error, restart } = event.payload as { error: Error; restart: boolean };
        opts.logger.error({ error: error.message, restart }, 'alert consumer crashed');
        if (!restart) opts.onCrash?.(error);
      });
      await consumer.connect();
      await consumer.subscribe({ topic: opts.topic, fromBeginning: true });
      await consumer.run({ eachBatchAutoResolve: false, autoCommit: true, eachBatch });
    },
    async stop() {
      await consumer.disconnect();
    },
  };
}
