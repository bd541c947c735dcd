import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { RowDataPacket } from '@paysync/db';
import { checkInvariants, eventually, type WeChatPaidOrder } from '@paysync/testkit';
import { SweepMetrics } from '../../src/index.ts';
import { closedPort, createReconcilerWorld, type ReconcilerWorld, sleep, TEST_POLICY } from '../world.ts';

let world: ReconcilerWorld;
beforeAll(async () => {
  // The incident: WeChat can never deliver a notification to the merchant.
  world = await createReconcilerWorld('rec_incident', {
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

/** Time passes: the pending orders' time_expire is behind us (WeChat's clock may still let them pay). */
async function expirePendingOrders() {
  await world.pool.query("UPDATE payment_orders SET time_expire = ? WHERE status = 'pending'", [
    new Date(Date.now() - 1000),
  ]);
  await sleep(TEST_POLICY.backoff.stepsMs[0]! + 50);
}

describe('the incident, reproduced', () => {
  it('settles every paid order, counts and alerts each missed notification, and closes and expires the unpaid ones', async () => {
    const orders = await world.createOrders(200, { payableForMs: 120_000 });
    const paid: WeChatPaidOrder[] = orders.slice(0, 120).map((o) => world.pay(o));
    const unpaid = orders.slice(120);
    const notifyUrl = `http://127.0.0.1:${await closedPort()}/api/payment/wechat/callback`;

    const metrics = new SweepMetrics();
    const first = await world.sweep(
      { notify: { url: notifyUrl, timeoutMs: 1000, allowInsecure: true } },
      { metrics },
    );
    expect(first.exitCode).toBe(0);
    expect(first.report).toMatchObject({ status: 'ok', checked: 200, missedNotifications: 120 });
    expect(first.report.outcomes).toEqual({ paid: 120, pending: 80 });
    expect(first.probe).toMatchObject({ healthy: false, reachable: false });
    const missed = await metrics.registry
      .getSingleMetric('paysync_reconciler_missed_notifications_total')!
      .get();
    expect(missed.values[0]!.value).toBe(120);
    const healthy = await metrics.registry.getSingleMetric('paysync_reconciler_notify_url_healthy')!.get();
    expect(healthy.values[0]!.value).toBe(0);

    await world.waitUntilConsumed();
    expect(await world.statuses()).toEqual({ paid: 120, pending: 80 });

    // The unpaid ones are closed once their time_expire has passed, and only then.
    await expirePendingOrders();
    const second = await world.sweep();
    expect(second.report.outcomes).toEqual({ closed: 80 });
    await world.waitUntilConsumed();
    expect(await world.statuses()).toEqual({ paid: 120, expired: 80 });
    for (const o of unpaid) expect(world.sandbox.order(o.outTradeNo).trade_state).toBe('CLOSED');

    // Nothing is left to check: a third run finds nothing due.
    const third = await world.sweep();
    expect(third.report.checked).toBe(0);

    // Points credited exactly once per paid order, balances consistent, WeChat's truth respected.
    const [entries] = await world.pool.query<RowDataPacket[]>(
      "SELECT out_trade_no, COUNT(*) AS n FROM point_transactions WHERE entry_type = 'recharge' GROUP BY out_trade_no",
    );
    expect(entries).toHaveLength(120);
    expect(entries.every((e) => Number(e.n) === 1)).toBe(true);
    const invariants = await checkInvariants(world.pool, { paidAtWeChat: paid });
    expect(invariants.violations).toEqual([]);

    // One missed-notification alert per order, and the notify URL alert.
    // (Published before the sweep ended; the test's collector receives them a moment later.)
    const missedAlerts = await eventually('120 missed-notification alerts', async () => {
      const missed = world.alerts.filter((a) => a.type === 'missed_notification');
      return new Set(missed.map((a) => a.dedupeKey)).size >= 120 ? missed : undefined;
    });
    expect(new Set(missedAlerts.map((a) => a.dedupeKey)).size).toBe(120);
    expect(missedAlerts.every((a) => a.source === 'reconciler')).toBe(true);
    await eventually('the notify URL alert', async () =>
      world.alerts.find((a) => a.type === 'notify_url_unhealthy'),
    );
  });

  it('ends paid when the user pays between the last NOTPAY and the close', async () => {
    const [order] = await world.createOrders(1, { payableForMs: 120_000 });
    const first = await world.sweep();
    expect(first.report.outcomes).toEqual({ pending: 1 });
    await world.waitUntilConsumed();

    // Our time_expire passes while WeChat's clock still lets the user pay (a little skew).
    await expirePendingOrders();
    let paidAtWeChat: WeChatPaidOrder | undefined;
    const userPaysFirst = {
      createRefund: world.client.createRefund.bind(world.client),
      queryRefund: world.client.queryRefund.bind(world.client),
      queryOrder: (no: string, mchid: string) => world.client.queryOrder(no, mchid),
      closeOrder: async (no: string, mchid: string) => {
        // The last query said NOTPAY; the user's payment lands just before our close does.
        paidAtWeChat = {
          outTradeNo: no,
          transactionId: world.sandbox.pay(no).transaction_id!,
          amountTotal: order!.amountTotal,
          mchid: world.sandbox.merchant!.mchid,
          appid: world.sandbox.merchant!.appid,
        };
        return world.client.closeOrder(no, mchid);
      },
    };
    const second = await world.sweep({}, { wechat: userPaysFirst });
    expect(second.report.outcomes).toEqual({ paid_at_close: 1 });
    await world.waitUntilConsumed();

    const row = await world.order(order!.outTradeNo);
    expect(row).toMatchObject({
      status: 'paid',
      settled_via: 'query',
      transaction_id: paidAtWeChat!.transactionId,
    });
    expect(world.sandbox.order(order!.outTradeNo).trade_state).toBe('SUCCESS');
    const invariants = await checkInvariants(world.pool, { paidAtWeChat: [paidAtWeChat!] });
    expect(invariants.violations).toEqual([]);
    // The journal shows the last NOTPAY, then the SUCCESS found after the refused close.
    const [journal] = await world.pool.query<RowDataPacket[]>(
      'SELECT trade_state FROM order_observations WHERE out_trade_no = ? ORDER BY id',
      [order!.outTradeNo],
    );
    expect(journal.map((j) => j.trade_state)).toEqual(['NOTPAY', 'NOTPAY', 'SUCCESS']);
  });
});
