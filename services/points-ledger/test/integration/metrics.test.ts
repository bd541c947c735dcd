import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createPool, insertRefund } from '@paysync/db';
import { createRegistry } from '@paysync/observability';
import { eventually } from '@paysync/testkit';
import { createLedgerMetrics } from '../../src/index.ts';
import { createLedgerWorld, type LedgerWorld, MCHID, observation } from '../world.ts';

let world: LedgerWorld;

let opsUrl: string;

beforeAll(async () => {
  world = await createLedgerWorld('ledger_metrics');
  // Started as production starts it: what Prometheus scrapes is the service's own /metrics.
  opsUrl = (await world.startLedger()).opsUrl;
});

afterAll(async () => {
  await world?.close();
});

function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}`) || l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('ledger metrics computed at scrape time', () => {
  it('report orders by status, pending ages, consumer lag and unhandled dead letters from MySQL and Kafka', async () => {
    const paid = await world.seedOrder();
    await world.seedOrder(); // pending, not expired
    await world.seedOrder({ timeExpire: new Date(Date.now() - 120_000) }); // pending past expiry
    await world.observe(observation(paid));
    // A refund of the paid order accepted here a minute ago, still processing, holding 300 points.
    await insertRefund(world.pool, {
      outRefundNo: 'RFMETRICS0001',
      outTradeNo: paid.outTradeNo,
      merchantRefundNo: null,
      mchid: MCHID,
      userId: paid.userId,
      amountFen: 300,
      reason: null,
      origin: 'api',
      requestedBy: null,
      holdPoints: 300,
      nextCheckAt: new Date(),
    });
    await world.pool.query(
      "UPDATE payment_refunds SET created_at = NOW(3) - INTERVAL 60 SECOND WHERE out_refund_no = 'RFMETRICS0001'",
    );
    const ghost = { ...paid, outTradeNo: 'RCGHOSTMETRICS000001' };
    await world.observe(observation(ghost)); // unknown order → one dead letter
    await world.waitUntilConsumed();
    // The dead letter is committed with the settlement (the outbox) and relayed right after.
    await eventually('the dead letter on the DLQ', async () =>
      world.outputs.deadLetters.length > 0 ? true : undefined,
    );

    expect((await fetch(`${opsUrl}/readyz`)).status).toBe(200);
    const text = await (await fetch(`${opsUrl}/metrics`)).text();
    expect(sample(text, 'paysync_ledger_orders', 'status="paid"')).toBe(1);
    expect(sample(text, 'paysync_ledger_orders', 'status="pending"')).toBe(2);
    expect(sample(text, 'paysync_ledger_orders', 'status="expired"')).toBe(0);
    expect(sample(text, 'paysync_ledger_oldest_pending_order_age_seconds')).toBeGreaterThan(0);
    expect(sample(text, 'paysync_ledger_oldest_pending_past_expiry_seconds')).toBeGreaterThanOrEqual(120);
    expect(sample(text, 'paysync_ledger_pending_past_expiry_orders')).toBe(1);
    const lag = text.split('\n').filter((l) => l.startsWith('paysync_ledger_consumer_lag{'));
    expect(lag.length).toBeGreaterThan(0);
    expect(lag.every((l) => l.endsWith(' 0'))).toBe(true);
    const dlq = text
      .split('\n')
      .filter((l) => l.startsWith('paysync_ledger_dlq_messages{'))
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    expect(dlq).toBe(1);
    expect(sample(text, 'paysync_refunds_under_way', 'status="processing",measure="refunds"')).toBe(1);
    expect(sample(text, 'paysync_refunds_under_way', 'status="processing",measure="held_points"')).toBe(300);
    expect(sample(text, 'paysync_refunds_under_way', 'status="abnormal",measure="refunds"')).toBe(0);
    expect(sample(text, 'paysync_refund_oldest_processing_age_seconds')).toBeGreaterThanOrEqual(60);
    expect(sample(text, 'paysync_ledger_metrics_source_up', 'source="mysql"')).toBe(1);
    expect(sample(text, 'paysync_ledger_metrics_source_up', 'source="kafka"')).toBe(1);
  });

  it('keeps /metrics answering when MySQL cannot be read: counters stay, the source says 0', async () => {
    const down = createPool({ url: 'mysql://paysync:paysync@127.0.0.1:1/paysync', connectionLimit: 1 });
    try {
      const registry = createRegistry('points-ledger', { processMetrics: false });
      const metrics = createLedgerMetrics(registry, {
        pool: down,
        groupId: world.groupId,
        topic: world.topics.paymentObservations,
      });
      metrics.observations.inc({ source: 'notification', outcome: 'settled' });
      const text = await registry.metrics();
      expect(
        sample(text, 'paysync_ledger_observations_total', 'source="notification",outcome="settled"'),
      ).toBe(1);
      expect(sample(text, 'paysync_ledger_metrics_source_up', 'source="mysql"')).toBe(0);
    } finally {
      await down.end();
    }
  });
});
