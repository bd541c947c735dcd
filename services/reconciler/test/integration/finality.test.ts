import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { RowDataPacket } from '@paysync/db';
import { checkInvariants, eventually } from '@paysync/testkit';
import { createReconcilerWorld, type ReconcilerWorld, sleep, TEST_POLICY } from '../world.ts';

// Nothing is final without proof: an order finalised unpaid is looked at again 1 h and 24 h later,
// and a payment WeChat took after all is settled as a late payment and paged.

let world: ReconcilerWorld;
beforeAll(async () => {
  world = await createReconcilerWorld('rec_finality');
});
afterAll(async () => {
  await world?.close();
});
beforeEach(async () => {
  await world.reset();
});

const HOUR = 3_600_000;

async function schedule(outTradeNo: string) {
  const [[row]] = await world.pool.query<RowDataPacket[]>(
    'SELECT status, settled_at, next_check_at FROM payment_orders WHERE out_trade_no = ?',
    [outTradeNo],
  );
  return row as RowDataPacket;
}

/** As if the order became `status` `agoMs` ago and its re-check is due now. */
async function finalisedAgo(outTradeNo: string, status: string, agoMs: number) {
  await world.pool.query(
    'UPDATE payment_orders SET status = ?, settled_at = ?, next_check_at = ? WHERE out_trade_no = ?',
    [status, new Date(Date.now() - agoMs), new Date(Date.now() - 1000), outTradeNo],
  );
}

describe('orders finalised unpaid are re-checked', () => {
  it('the ledger schedules the first re-check an hour after an order expires', async () => {
    const [order] = await world.createOrders(1, { dbTimeExpire: new Date(Date.now() - 60_000) });
    await sleep(TEST_POLICY.backoff.stepsMs[0]! + 50);
    const run = await world.sweep();
    expect(run.report.outcomes).toEqual({ closed: 1 });
    await world.waitUntilConsumed();
    const row = await eventually('the order to expire', async () => {
      const r = await schedule(order!.outTradeNo);
      return r.status === 'expired' ? r : undefined;
    });
    expect(row.next_check_at.getTime() - row.settled_at.getTime()).toBe(HOUR);
  });

  it('finds a payment WeChat took after the order was finalised, and settles it as a late payment', async () => {
    const [order] = await world.createOrders(1, { tag: 'LATE' });
    await finalisedAgo(order!.outTradeNo, 'expired', HOUR + 60_000);
    const paid = world.pay(order!);
    const run = await world.sweep();
    expect(run.report.outcomes).toEqual({ paid: 1 });
    await world.waitUntilConsumed();
    const row = await eventually('the late payment to settle', async () => {
      const r = await schedule(order!.outTradeNo);
      return r.status === 'paid' ? r : undefined;
    });
    expect(row.next_check_at).toBeNull();
    const alert = await eventually('the late-payment alert', async () =>
      world.alerts.find((a) => a.type === 'late_payment' && a.outTradeNo === order!.outTradeNo),
    );
    // Credited already: a decision for business hours (payment review), not a page.
    expect(alert?.severity).toBe('warning');
    expect((await checkInvariants(world.pool, { paidAtWeChat: [paid] })).violations).toEqual([]);
  });

  it('looks once more a day after, then never again', async () => {
    const [order] = await world.createOrders(1, { tag: 'DAY' });
    await finalisedAgo(order!.outTradeNo, 'cancelled', HOUR + 60_000);
    expect((await world.sweep()).report.outcomes).toEqual({ pending: 1 });
    const afterFirst = await schedule(order!.outTradeNo);
    expect(afterFirst.status).toBe('cancelled');
    expect(afterFirst.next_check_at.getTime() - afterFirst.settled_at.getTime()).toBe(24 * HOUR);

    await finalisedAgo(order!.outTradeNo, 'cancelled', 24 * HOUR + 60_000);
    expect((await world.sweep()).report.outcomes).toEqual({ pending: 1 });
    expect((await schedule(order!.outTradeNo)).next_check_at).toBeNull();
    expect((await world.sweep()).report.checked).toBe(0);
  });
});
