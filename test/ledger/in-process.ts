// The points-ledger run in the test's own process, verifying evidence against the sandbox's keys:
// for tests of other components that need payments settled (its own identity is not under test).
import type { TopicNames } from '@paysync/contracts';
import type { Pool } from '@paysync/db';
import { createIdempotentProducer } from '@paysync/kafka';
import { createLogger, createRegistry } from '@paysync/observability';
import { createLedgerConsumer, createLedgerMetrics } from '@paysync/points-ledger';
import { sandboxEvidence } from '@paysync/testkit';
import type { Sandbox } from '@paysync/wechatpay-sandbox';
import type { Kafka } from 'kafkajs';

export type InProcessLedger = { stop(): Promise<void> };

export async function startInProcessLedger(opts: {
  pool: Pool;
  kafka: Kafka;
  sandbox: Sandbox;
  topics: TopicNames;
  groupId: string;
}): Promise<InProcessLedger> {
  const producer = createIdempotentProducer(opts.kafka);
  await producer.connect();
  const ledger = createLedgerConsumer({
    pool: opts.pool,
    logger: createLogger({ service: 'points-ledger-test', level: 'silent' }),
    evidence: sandboxEvidence(opts.pool, opts.sandbox),
    kafka: opts.kafka,
    producer,
    metrics: createLedgerMetrics(createRegistry('points-ledger', { processMetrics: false }), {
      pool: opts.pool,
      groupId: opts.groupId,
      topic: opts.topics.paymentObservations,
    }),
    groupId: opts.groupId,
    topics: opts.topics,
    batchSize: 50,
  });
  await ledger.start();
  return {
    async stop() {
      await ledger.stop();
      await producer.disconnect();
    },
  };
}
