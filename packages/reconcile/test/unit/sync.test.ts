import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { WeChatPayClient } from '@paysync/wechatpay';
import { type Sandbox, startSandbox } from '@paysync/wechatpay-sandbox';
import { AdaptiveRateLimiter, DEFAULT_SYNC_POLICY, type SyncDeps, syncOrder } from '../../src/index.ts';
import { prepaidOrder, recordingPublisher, sandboxClient } from '../support.ts';

let sandbox: Sandbox;
let client: WeChatPayClient;

beforeAll(async () => {
  sandbox = await startSandbox({});
  client = await sandboxClient(sandbox);
});
afterAll(async () => {
  await client.close();
  await sandbox.close();
});
beforeEach(() => {
  sandbox.resetFaults();
});

const MIN = 60_000;
const past = (ms: number) => new Date(Date.now() - ms);

function deps(over: Partial<SyncDeps> = {}) {
  const publisher = recordingPublisher();
  const d: SyncDeps = { wechat: client, publisher, origin: { producer: 'reconciler' }, ...over };
  return { d, publisher: (over.publisher as typeof publisher | undefined) ?? publisher };
}

describe('syncing one order with WeChat Pay', () => {
  it('publishes NOTPAY as a query observation and schedules the next check, without closing before expiry', async () => {
    const order = await prepaidOrder(client, sandbox);
    const { d, publisher } = deps();
    const r = await syncOrder(d, order);
    expect(r.outcome).toBe('pending');
    expect(r.closed).toBe(false);
    expect(publisher.observed).toEqual([
      expect.objectContaining({
        outTradeNo: order.outTradeNo,
        source: 'query',
        tradeState: 'NOTPAY',
        producer: 'reconciler',
      }),
    ]);
    expect(r.schedule).toMatchObject({ counted: true, wechatState: 'NOTPAY' });
    expect(r.schedule!.nextCheckAt!.getTime() - r.checkedAt.getTime()).toBe(MIN);
    expect(sandbox.order(order.outTradeNo).trade_state).toBe('NOTPAY');
  });

  it('reports a payment WeChat knows with its transaction and amount, and calls it a missed notification once it is old', async () => {
    const order = await prepaidOrder(client, sandbox);
    const paid = sandbox.pay(order.outTradeNo);
    const later = () => Date.now() + 3 * MIN;
    const { d, publisher } = deps({ clock: later });
    const r = await syncOrder(d, order);
    expect(r.outcome).toBe('paid');
    expect(r.missedNotification).toBe(true);
    expect(r.prediction).toMatchObject({ statusAfter: 'paid', change: true });
    expect(publisher.observed[0]).toMatchObject({
      tradeState: 'SUCCESS',
      transactionId: paid.transaction_id,
      amount: { total: 1000 },
      mchid: sandbox.merchant!.mchid,
      appid: sandbox.merchant!.appid,
    });
    expect(publisher.alerted).toEqual([
      expect.objectContaining({
        type: 'missed_notification',
        outTradeNo: order.outTradeNo,
        dedupeKey: `missed_notification:${order.outTradeNo}`,
      }),
    ]);
  });

  it('does not call a fresh payment a missed notification (its notification may still be on its way)', async () => {
    const order = await prepaidOrder(client, sandbox);
    sandbox.pay(order.outTradeNo);
    const { d, publisher } = deps();
    const r = await syncOrder(d, order);
    expect(r.outcome).toBe('paid');
    expect(r.missedNotification).toBe(false);
    expect(publisher.alerted).toEqual([]);
  });

  it('does not count the same missed payment twice when it was already seen paid', async () => {
    const order = await prepaidOrder(client, sandbox, { lastWechatState: 'SUCCESS' });
    sandbox.pay(order.outTradeNo);
    const { d } = deps({ clock: () => Date.now() + 10 * MIN });
    expect((await syncOrder(d, order)).missedNotification).toBe(false);
  });

  it('closes an unpaid order past time_expire at WeChat, queries again and publishes both answers', async () => {
    const order = await prepaidOrder(client, sandbox, { timeExpire: past(1000) });
    const { d, publisher } = deps();
    const r = await syncOrder(d, order);
    expect(r.outcome).toBe('closed');
    expect(r.closed).toBe(true);
    expect(sandbox.order(order.outTradeNo).trade_state).toBe('CLOSED');
    expect(publisher.observed.map((o) => o.tradeState)).toEqual(['NOTPAY', 'CLOSED']);
    expect(r.prediction).toMatchObject({ statusAfter: 'expired' });
  });

  it('finds the payment made between the last NOTPAY and the close, and reports it paid', async () => {
    const order = await prepaidOrder(client, sandbox, { timeExpire: past(1000) });
    const racing = {
      queryOrder: (no: string, mchid: string) => client.queryOrder(no, mchid),
      closeOrder: async (no: string, mchid: string) => {
        sandbox.pay(no); // the user pays right before our close reaches WeChat
        return client.closeOrder(no, mchid);
      },
    };
    const { d, publisher } = deps({ wechat: racing });
    const r = await syncOrder(d, order);
    expect(r.outcome).toBe('paid_at_close');
    expect(r.closed).toBe(false);
    expect(publisher.observed.map((o) => o.tradeState)).toEqual(['NOTPAY', 'SUCCESS']);
    expect(sandbox.order(order.outTradeNo).trade_state).toBe('SUCCESS');
  });

  it('in a dry run queries but neither closes nor publishes, and says what would happen', async () => {
    const order = await prepaidOrder(client, sandbox, { timeExpire: past(1000) });
    const { d, publisher } = deps({ dryRun: true });
    const r = await syncOrder(d, order);
    expect(r).toMatchObject({ outcome: 'closed', closed: true, dryRun: true, schedule: undefined });
    expect(r.prediction).toMatchObject({ statusAfter: 'expired', change: true });
    expect(sandbox.order(order.outTradeNo).trade_state).toBe('NOTPAY');
    expect(publisher.observed).toEqual([]);
    expect(publisher.alerted).toEqual([]);
  });

  it('leaves USERPAYING open within the grace after expiry and re-checks it soon', async () => {
    const order = await prepaidOrder(client, sandbox, { timeExpire: past(1000) });
    sandbox.userPaying(order.outTradeNo);
    const { d } = deps();
    const r = await syncOrder(d, order);
    expect(r.outcome).toBe('pending');
    expect(sandbox.order(order.outTradeNo).trade_state).toBe('USERPAYING');
    expect(r.schedule!.nextCheckAt!.getTime() - r.checkedAt.getTime()).toBe(
      DEFAULT_SYNC_POLICY.backoff.userPayingMs,
    );
  });

  it('treats ORDER_NOT_EXIST as final only after expiry, and only once the order is closed at WeChat', async () => {
    const base = await prepaidOrder(client, sandbox);
    const unknown = { ...base, outTradeNo: `${base.outTradeNo.slice(0, 28)}NONE` };
    const { d, publisher } = deps();
    const closes = () =>
      Object.values(
        sandbox.counters().requests['POST /v3/pay/transactions/out-trade-no/:out_trade_no/close'] ?? {},
      ).reduce((a, b) => a + b, 0);
    const before = closes();
    expect((await syncOrder(d, unknown)).outcome).toBe('not_found');
    expect(closes()).toBe(before);
    // Past expiry, a "not found" alone finalises nothing: close (the order can no longer be paid,
    // should it exist after all), then ask again — that second answer is the one applied.
    const r = await syncOrder(d, { ...unknown, timeExpire: past(1000) });
    expect(r).toMatchObject({ outcome: 'not_found_expired', closed: false });
    expect(closes()).toBe(before + 1);
    expect(publisher.observed.map((o) => o.tradeState)).toEqual([
      'ORDER_NOT_EXIST',
      'ORDER_NOT_EXIST',
      'ORDER_NOT_EXIST',
    ]);
  });

  // The incident recreated by paysync itself: a "no such order" from something that is not WeChat
  // (an egress proxy, a misrouted base URL, an error page) once expired a paid order.
  it('takes no unsigned answer for a fact: an error to retry on the error schedule, no observation', async () => {
    const base = await prepaidOrder(client, sandbox);
    const unknown = { ...base, outTradeNo: `${base.outTradeNo.slice(0, 28)}NONE`, timeExpire: past(1000) };
    const paid = await prepaidOrder(client, sandbox);
    sandbox.pay(paid.outTradeNo);
    const { d, publisher } = deps();
    for (const order of [unknown, { ...paid, timeExpire: past(1000) }]) {
      sandbox.setFaults({ unsignedNextResponses: 1 });
      const r = await syncOrder(d, order);
      expect(r.outcome).toBe('error');
      expect(r.observations).toEqual([]);
      expect(r.schedule).toMatchObject({ counted: false, wechatState: undefined });
    }
    expect(publisher.observed).toEqual([]);
    expect(sandbox.counters().faults.unsignedResponses).toBe(2);
    // Once WeChat's signed word arrives, it counts.
    expect((await syncOrder(d, unknown)).outcome).toBe('not_found_expired');
    expect((await syncOrder(d, paid)).outcome).toBe('paid');
    // … and travels with the observation, for the ledger to check itself.
    expect(
      publisher.observed.map((o) => [
        o.tradeState,
        o.evidence?.kind,
        (o.evidence as { status?: number }).status,
      ]),
    ).toEqual([
      ['ORDER_NOT_EXIST', 'answer', 404],
      ['ORDER_NOT_EXIST', 'answer', 404],
      ['SUCCESS', 'answer', 200],
    ]);
  });

  // Out_trade_no is unique per merchant: asked with another merchant's credentials, WeChat says
  // ORDER_NOT_EXIST, which would expire an order that may be paid under its own merchant.
  it('never asks about another merchant’s order: an error, an alert, and no call to WeChat', async () => {
    const order = await prepaidOrder(client, sandbox);
    sandbox.pay(order.outTradeNo);
    const calls = () => {
      const byStatus =
        sandbox.counters().requests['GET /v3/pay/transactions/out-trade-no/:out_trade_no'] ?? {};
      return Object.values(byStatus).reduce((a, b) => a + b, 0);
    };
    const callsBefore = calls();
    const { d, publisher } = deps();
    const foreign = { ...order, mchid: '1900000109', timeExpire: past(1000) };
    const r = await syncOrder(d, foreign);
    expect(r.outcome).toBe('error');
    expect(r.error).toMatchObject({ code: 'UNKNOWN_MERCHANT' });
    expect(r.observations).toEqual([]);
    expect(r.needsAttention).toBe(true);
    expect(r.schedule).toMatchObject({ counted: false });
    expect(publisher.observed).toEqual([]);
    expect([...r.alerts, ...publisher.alerted].map((a) => [a.type, a.outTradeNo])).toContainEqual([
      'order_needs_attention',
      order.outTradeNo,
    ]);
    expect(calls()).toBe(callsBefore);
    expect(sandbox.order(order.outTradeNo).trade_state).toBe('SUCCESS');
  });

  it('slows down on 429, retries, and reports an error (not a check) when WeChat keeps refusing', async () => {
    const order = await prepaidOrder(client, sandbox);
    sandbox.setFaults({ rateLimitShare: 1 });
    const pacer = new AdaptiveRateLimiter({ qps: 1000 });
    const { d, publisher } = deps({ pacer });
    const r = await syncOrder(d, order);
    expect(r.outcome).toBe('error');
    expect(r.error?.code).toBe('RATE_LIMITED');
    expect(r.rateLimited).toBe(DEFAULT_SYNC_POLICY.rateLimitRetries + 1);
    expect(pacer.currentQps).toBeLessThan(1000);
    expect(r.schedule).toMatchObject({ counted: false, wechatState: undefined });
    expect(publisher.observed).toEqual([]);
  });

  it('succeeds when a 429 is followed by an answer', async () => {
    const order = await prepaidOrder(client, sandbox);
    sandbox.setFaults({ rateLimitShare: 0.5 });
    const { d } = deps({
      pacer: new AdaptiveRateLimiter({ qps: 1000 }),
      policy: { ...DEFAULT_SYNC_POLICY, rateLimitRetries: 20 },
    });
    expect((await syncOrder(d, order)).outcome).toBe('pending');
  });

  it('does nothing and marks nothing while the breaker is open', async () => {
    const breakerClient = await sandboxClient(sandbox, {
      breaker: { volumeThreshold: 1, errorThresholdPercentage: 1, resetTimeoutMs: 60_000 },
    });
    try {
      const order = await prepaidOrder(breakerClient, sandbox);
      sandbox.setFaults({ down: true });
      const { d, publisher } = deps({ wechat: breakerClient });
      const first = await syncOrder(d, order);
      expect(first.outcome).toBe('error');
      expect(first.error?.code).toBe('NETWORK_ERROR');
      const second = await syncOrder(d, order);
      expect(second).toMatchObject({ outcome: 'aborted', schedule: undefined, observations: [] });
      expect(publisher.observed).toEqual([]);
    } finally {
      await breakerClient.close();
    }
  });

  it('raises order_needs_attention for an order still pending long after its expiry', async () => {
    const order = await prepaidOrder(client, sandbox, { timeExpire: past(2 * 3_600_000) });
    sandbox.pay(order.outTradeNo);
    const { d, publisher } = deps();
    const r = await syncOrder(d, order);
    expect(r.needsAttention).toBe(true);
    expect(publisher.alerted.map((a) => a.type)).toContain('order_needs_attention');
  });
});
