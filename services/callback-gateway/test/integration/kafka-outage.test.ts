import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { checkInvariants, eventually, testEnv } from '@paysync/testkit';
import { producerAvailable } from '../../src/readiness.ts';
import { capturePayment, merchantClient, startCapture } from '../capture.ts';
import { type KafkaProxy, startKafkaProxy } from '../kafka-proxy.ts';
import { createGatewayWorld, createNativeOrder, type GatewayWorld, type Rows } from '../world.ts';

let proxy: KafkaProxy;
let world: GatewayWorld;

beforeAll(async () => {
  proxy = await startKafkaProxy(testEnv().kafkaBrokers[0] as string);
  world = await createGatewayWorld('gw_outage', {
    gatewayKafka: () => proxy.kafka(),
    publishTimeoutMs: 3000,
    // WeChat's schedule × 0.002: 30 ms, 30 ms, 60 ms, 360 ms, 1.2 s, 2.4 s, 3.6 s …
    sandbox: { timeScale: 0.002 },
  });
  await world.startLedger();
});

afterAll(async () => {
  await world?.close();
  await proxy?.close();
});

describe('when Kafka is unavailable', () => {
  it('answers 503 inside WeChat’s 5 s, accepts the retries once Kafka is back, and every paid order settles', async () => {
    const nos = await Promise.all(Array.from({ length: 6 }, () => createNativeOrder(world)));
    await proxy.cut();
    try {
      for (const no of nos) world.sandbox.pay(no);
      // Each order's notification is refused at least twice while Kafka is away.
      await eventually(
        'every notification to be refused twice',
        async () =>
          nos.every(
            (no) =>
              (world.sandbox.notifications({ outTradeNo: no })[0]?.attempts ?? []).filter(
                (a) => a.status === 503,
              ).length >= 2,
          )
            ? true
            : undefined,
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      // The producer is down, but one hiccup must not turn every replica unready at once: readiness
      // fails only once it has been down longer than the grace.
      expect(world.publisher.unavailableForMs()).toBeGreaterThan(0);
      expect(() => producerAvailable(world.publisher, 0)).toThrow(/unavailable/);
      expect(() => producerAvailable(world.publisher, 600_000)).not.toThrow();
    } finally {
      await proxy.restore();
    }
    await world.sandbox.idle();
    await eventually('the producer to be back', async () =>
      world.publisher.unavailableForMs() === 0 ? true : undefined,
    );

    for (const no of nos) {
      const record = world.sandbox.notifications({ outTradeNo: no })[0];
      expect(record?.state).toBe('delivered');
      const outcomes = record?.attempts.map((a) => a.outcome) ?? [];
      // "rejected" means the sandbox got an answer within its 5 s wait: never a timeout.
      expect(outcomes).not.toContain('timeout');
      expect(outcomes.at(-1)).toBe('acknowledged');
      expect(record?.attempts.filter((a) => a.outcome === 'rejected').every((a) => a.status === 503)).toBe(
        true,
      );
    }
    const failures = await world.metrics.publishFailures.get();
    expect(failures.values.reduce((n, v) => n + v.value, 0)).toBeGreaterThan(0);

    await world.waitUntilLedgerConsumed();
    const paidAtWeChat = nos.map((no) => {
      const o = world.sandbox.order(no);
      return {
        outTradeNo: no,
        transactionId: o.transaction_id as string,
        amountTotal: 1000,
        mchid: o.mchid,
        appid: o.appid,
      };
    });
    const report = await checkInvariants(world.pool, { paidAtWeChat });
    expect(report.violations).toEqual([]);
    const [rows] = await world.pool.query<Rows>(
      'SELECT status FROM payment_orders WHERE out_trade_no IN (?)',
      [nos],
    );
    expect(rows.map((r) => r.status)).toEqual(nos.map(() => 'paid'));
  });

  it('loses its producer while Kafka is gone and gets a new one on its own when Kafka returns', async () => {
    const client = merchantClient(world.sandbox, world.merchant);
    const capture = await startCapture();
    try {
      const c = await capturePayment(world.sandbox, client, capture, { appid: world.merchant.appid });
      expect(world.publisher.connected()).toBe(true);
      await proxy.cut();
      try {
        expect((await world.post('/api/payment/wechat/callback', c.body, c.headers)).status).toBe(503);
        await eventually('the producer to be replaced', async () =>
          world.publisher.connected() ? undefined : true,
        );
      } finally {
        await proxy.restore();
      }
      // No request reaches the gateway now: it reconnects by itself.
      await eventually(
        'the gateway to be writable again',
        async () =>
          world.publisher.connected() && world.publisher.unavailableForMs() === 0 ? true : undefined,
        {
          timeoutMs: 60_000,
        },
      );
      expect((await world.post('/api/payment/wechat/callback', c.body, c.headers)).status).toBe(204);
    } finally {
      await capture.close();
      await client.close();
    }
  });
});
