import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { RowDataPacket } from '@paysync/db';
import { AdaptiveRateLimiter, countDueOrders } from '@paysync/reconcile';
import { checkInvariants, eventually, type WeChatPaidOrder } from '@paysync/testkit';
import { createReconcilerWorld, type ReconcilerWorld, sleep, TEST_POLICY } from '../world.ts';

let world: ReconcilerWorld;
beforeAll(async () => {
  world = await createReconcilerWorld('rec_storms', {
    sandbox: { faults: { notifyUnreachable: 'refused' } },
  });
});
afterAll(async () => {
  await world?.close();
});
beforeEach(async () => {
  await world.reset();
  world.sandbox.setFaults({ notifyUnreachable: 'refused' });
});

type Row = RowDataPacket & Record<string, unknown>;
async function rows(): Promise<Row[]> {
  const [r] = await world.pool.query<Row[]>(
    'SELECT out_trade_no, status, check_attempts, last_wechat_state, next_check_at FROM payment_orders ORDER BY id',
  );
  return r;
}

describe('WeChat answering 429 storms', () => {
  it('slows the sweep down, retries, marks nothing wrongly, and the next run catches up', async () => {
    const orders = await world.createOrders(80);
    const paid: WeChatPaidOrder[] = orders.slice(0, 40).map((o) => world.pay(o));
    world.sandbox.setFaults({ rateLimitShare: 0.5 });
    const pacer = new AdaptiveRateLimiter({ qps: 400, minQps: 100, cooldownMs: 60_000 });
    const stormy = await world.sweep({}, { pacer });
    expect(stormy.exitCode).toBe(0);
    expect(stormy.report.rateLimited).toBeGreaterThan(0);
    expect(pacer.stats().minQpsSeen).toBeLessThan(400);
    // Whatever gave up on 429s is an error, rescheduled, never a state.
    const errors = stormy.report.outcomes.error ?? 0;
    expect((stormy.report.outcomes.paid ?? 0) + (stormy.report.outcomes.pending ?? 0) + errors).toBe(80);
    expect(Object.keys(stormy.report.errors)).toEqual(errors > 0 ? ['RATE_LIMITED'] : []);

    world.sandbox.setFaults({ rateLimitShare: 0 });
    await sleep(TEST_POLICY.backoff.errorRetryMs + 50);
    await world.sweep();
    await world.waitUntilConsumed();
    expect((await world.statuses()).paid).toBe(40);
    expect((await checkInvariants(world.pool, { paidAtWeChat: paid })).violations).toEqual([]);
  });
});

describe('WeChat answering 500 storms', () => {
  it('opens the breaker, ends the run early with an alert and exit 1 without marking orders, and the next run catches up', async () => {
    const orders = await world.createOrders(60);
    const paid = orders.slice(0, 30).map((o) => world.pay(o));
    const before = await rows();
    const wechat = await world.makeClient({
      volumeThreshold: 5,
      errorThresholdPercentage: 50,
      resetTimeoutMs: 500,
    });
    world.sandbox.setFaults({ failNextQueries: 10_000, failStatus: 500 });

    const failed = await world.sweep({ concurrency: 2, pageSize: 20 }, { wechat });
    expect(failed.report.status).toBe('breaker_open');
    expect(failed.exitCode).toBe(1);
    expect(wechat.breakerState).toBe('open');
    expect(failed.report.outcomes.paid ?? 0).toBe(0);
    expect(failed.report.errors.SERVER_ERROR).toBeGreaterThan(0);
    expect(failed.report.released).toBeGreaterThan(0);

    // No order changed state; orders whose query failed only had their next check moved (not
    // counted as a check); the others were given back as they were, due at once.
    const after = await rows();
    expect(after.map((r) => [r.status, r.check_attempts, r.last_wechat_state])).toEqual(
      before.map(() => ['pending', 0, null]),
    );
    const failedQueries = failed.report.errors.SERVER_ERROR!;
    // Released orders are due as of the run's start again; the failed ones only after the error retry.
    expect(await countDueOrders(world.pool, failed.report.startedAt)).toBe(60 - failedQueries);
    await eventually('the breaker alert', async () =>
      world.alerts.find((a) => a.type === 'wechat_api_unavailable' && a.severity === 'critical'),
    );

    // WeChat recovers: the breaker half-opens, closes on the first success, and the next run catches up.
    world.sandbox.resetFaults();
    world.sandbox.setFaults({ notifyUnreachable: 'refused' });
    await eventually('the breaker to half-open', async () =>
      wechat.breakerState === 'half_open' ? true : undefined,
    );
    const next = await world.sweep({}, { wechat });
    expect({ status: next.report.status, failure: next.report.failure }).toEqual({
      status: 'ok',
      failure: undefined,
    });
    expect(next.report.checked).toBe(60);
    expect(wechat.breakerState).toBe('closed');
    await world.waitUntilConsumed();
    expect(await world.statuses()).toEqual({ paid: 30, pending: 30 });
    expect((await checkInvariants(world.pool, { paidAtWeChat: paid })).violations).toEqual([]);
  });
});

describe('orders that cannot become final', () => {
  it('raises order_needs_attention for an order still pending past its horizon, and keeps checking it', async () => {
    // WeChat was paid 1000 fen but our order says 999: the ledger refuses to settle it (mismatch).
    const [order] = await world.createOrders(1, {
      amountTotal: 1000,
      dbAmountTotal: 999,
      dbTimeExpire: new Date(Date.now() - 2 * 3_600_000),
    });
    world.pay(order!);
    const result = await world.sweep();
    expect(result.report.needsAttention).toBe(1);
    await world.waitUntilConsumed();
    await eventually('the needs-attention alert', async () =>
      world.alerts.find((a) => a.type === 'order_needs_attention' && a.outTradeNo === order!.outTradeNo),
    );
    await eventually('the ledger’s mismatch alert', async () =>
      world.alerts.find((a) => a.type === 'amount_mismatch'),
    );
    const row = await world.order(order!.outTradeNo);
    expect(row).toMatchObject({ status: 'pending', check_attempts: 1 });
    expect(row!.next_check_at).not.toBeNull();
  });
});
