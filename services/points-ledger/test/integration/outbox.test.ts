import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeMessage, type MessageOf, TOPICS } from '@paysync/contracts';
import type { RowDataPacket } from '@paysync/db';
import { createConsumer, createIdempotentProducer } from '@paysync/kafka';
import { createLogger, createRegistry } from '@paysync/observability';
import { checkInvariants, createIsolatedTopics, eventually, uniqueName } from '@paysync/testkit';
import { createLedgerConsumer, createLedgerMetrics, type LedgerConsumer } from '../../src/index.ts';
import { createLedgerWorld, type LedgerWorld, observation, type SeedOrder } from '../world.ts';

// Downstream topics never stall settlement: order-settled events are committed with the settlement
// (the outbox) and relayed when Kafka takes them. Here the order-settled topic does not exist for a
// while (a deleted topic, an ACL change, a quota): orders keep settling, the events wait, and then
// arrive — every one, in order per order.

let world: LedgerWorld;
beforeAll(async () => {
  world = await createLedgerWorld('outbox');
});
afterAll(async () => {
  await world?.close();
});

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const [[row]] = await world.pool.query<RowDataPacket[]>(sql, params);
  return Number(row?.n);
}

describe('the outbox', () => {
  it('keeps settling while order-settled cannot be written, and delivers every event once it can', async () => {
    const settledTopic = uniqueName('outbox_settled_later');
    const registry = createRegistry('points-ledger', { processMetrics: false });
    const metrics = createLedgerMetrics(registry, {
      pool: world.pool,
      groupId: world.groupId,
      topic: world.topics.paymentObservations,
    });
    const producer = createIdempotentProducer(world.kafka);
    await producer.connect();
    const ledger: LedgerConsumer = createLedgerConsumer({
      pool: world.pool,
      logger: createLogger({ service: 'ledger-outbox-test', level: 'silent' }),
      evidence: world.signer.reader(),
      kafka: world.kafka,
      producer,
      metrics,
      groupId: world.groupId,
      topics: { ...world.topics, orderSettled: settledTopic },
      batchSize: 50,
    });
    let created: { remove(): Promise<void> } | undefined;
    try {
      await ledger.start();
      const orders: SeedOrder[] = [];
      for (let i = 0; i < 40; i++) orders.push(await world.seedOrder());
      await world.observe(...orders.map((o) => observation(o)));
      await world.waitUntilConsumed();
      // Settled, with the topic for their events missing: nothing waited on it.
      const nos = orders.map((o) => o.outTradeNo);
      expect(
        await count(
          "SELECT COUNT(*) AS n FROM payment_orders WHERE status = 'paid' AND out_trade_no IN (?)",
          [nos],
        ),
      ).toBe(40);
      expect(await count('SELECT COUNT(*) AS n FROM ledger_outbox')).toBeGreaterThanOrEqual(40);
      await eventually(
        'the relay to have failed',
        async () => ((await metrics.publishFailures.get()).values[0]?.value ?? 0) > 0 || undefined,
      );

      created = await createIsolatedTopics([settledTopic], 3);
      await eventually(
        'the outbox to drain',
        async () => ((await count('SELECT COUNT(*) AS n FROM ledger_outbox')) === 0 ? true : undefined),
        {
          timeoutMs: 60_000,
        },
      );
      const events: MessageOf<typeof TOPICS.orderSettled>[] = [];
      const reader = createConsumer(world.kafka, { groupId: uniqueName('outbox-reader') });
      await reader.connect();
      await reader.subscribe({ topic: settledTopic, fromBeginning: true });
      await reader.run({
        eachMessage: async ({ message }) =>
          void events.push(decodeMessage(TOPICS.orderSettled, message.value)),
      });
      try {
        await eventually(
          'every order-settled event',
          async () => (new Set(events.map((e) => e.outTradeNo)).size >= 40 ? true : undefined),
          {
            timeoutMs: 30_000,
          },
        );
      } finally {
        await reader.disconnect();
      }
      expect(new Set(events.filter((e) => nos.includes(e.outTradeNo)).map((e) => e.outTradeNo)).size).toBe(
        40,
      );
      expect(events.every((e) => e.status === 'paid')).toBe(true);
      expect((await checkInvariants(world.pool)).violations).toEqual([]);
    } finally {
      await ledger.stop();
      await producer.disconnect();
      await created?.remove();
    }
  });
});
