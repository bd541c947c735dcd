import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RowDataPacket } from '@paysync/db';
import { checkInvariants, eventually } from '@paysync/testkit';
import {
  createLedgerWorld,
  type LedgerWorld,
  observation,
  refundObservation,
  type SeedOrder,
} from '../world.ts';

let world: LedgerWorld;

beforeAll(async () => {
  world = await createLedgerWorld('ledger');
  await world.startLedger();
});

afterAll(async () => {
  await world?.close();
});

async function orderRow(outTradeNo: string) {
  const [[row]] = await world.pool.query<RowDataPacket[]>(
    'SELECT * FROM payment_orders WHERE out_trade_no = ?',
    [outTradeNo],
  );
  return row as RowDataPacket;
}

async function entries(outTradeNo: string) {
  const [rows] = await world.pool.query<RowDataPacket[]>(
    'SELECT entry_type, reference_no, points_delta, balance_after FROM point_transactions WHERE out_trade_no = ? ORDER BY id',
    [outTradeNo],
  );
  return rows.map((r) => ({
    entry_type: String(r.entry_type),
    reference_no: String(r.reference_no),
    points_delta: Number(r.points_delta),
    balance_after: Number(r.balance_after),
  }));
}

async function balance(userId: string): Promise<number> {
  const [[row]] = await world.pool.query<RowDataPacket[]>(
    'SELECT balance FROM point_accounts WHERE user_id = ?',
    [userId],
  );
  return Number(row?.balance ?? 0);
}

async function settledTo(order: SeedOrder, status: string) {
  await world.waitUntilConsumed();
  return eventually(`${order.outTradeNo} ${status}`, async () => {
    const row = await orderRow(order.outTradeNo);
    return row.status === status ? row : undefined;
  });
}

describe('points-ledger state transitions (real MariaDB and Kafka)', () => {
  it('pending → paid on SUCCESS: one recharge entry with bonus, balance, journal and an order-settled event', async () => {
    const order = await world.seedOrder({ points: 500, bonusPoints: 50 });
    const obs = observation(order);
    await world.observe(obs);
    const row = await settledTo(order, 'paid');
    expect(row.transaction_id).toBe(obs.transactionId);
    expect(row.settled_via).toBe('notification');
    expect(await entries(order.outTradeNo)).toEqual([
      { entry_type: 'recharge', reference_no: '', points_delta: 550, balance_after: 550 },
    ]);
    expect(await balance(order.userId)).toBe(550);
    const [journal] = await world.pool.query<RowDataPacket[]>(
      'SELECT outcome, status_before, status_after FROM order_observations WHERE out_trade_no = ?',
      [order.outTradeNo],
    );
    expect(journal).toEqual([{ outcome: 'settled', status_before: 'pending', status_after: 'paid' }]);
    const event = await eventually('order-settled', async () =>
      world.outputs.settled.find((e) => e.outTradeNo === order.outTradeNo),
    );
    expect(event).toMatchObject({
      status: 'paid',
      previousStatus: 'pending',
      pointsDelta: 550,
      balanceAfter: 550,
    });
  });

  it('paid → refunded: a reversing entry, never an update of the recharge', async () => {
    const order = await world.seedOrder();
    await world.observe(observation(order));
    await settledTo(order, 'paid');
    await world.observe(refundObservation(order, `RF${order.outTradeNo}`.slice(0, 32), 1000));
    const row = await settledTo(order, 'refunded');
    expect(Number(row.refunded_amount)).toBe(1000);
    expect((await entries(order.outTradeNo)).map((e) => [e.entry_type, e.points_delta])).toEqual([
      ['recharge', 1100],
      ['refund_reversal', -1100],
    ]);
    expect(await balance(order.userId)).toBe(0);
  });

  it('partial refunds that add up to the total reverse every point, repeated and out of order', async () => {
    const order = await world.seedOrder({ amountTotal: 300, points: 100, bonusPoints: 0 });
    await world.observe(observation(order));
    await settledTo(order, 'paid');
    const refunds = [1, 2, 3].map((i) =>
      refundObservation(order, `RF${i}${order.outTradeNo}`.slice(0, 32), 100),
    );
    await world.observe(refunds[2]!, refunds[0]!, refunds[2]!, refunds[1]!, refunds[0]!);
    await world.waitUntilConsumed();
    const row = await orderRow(order.outTradeNo);
    expect(Number(row.refunded_amount)).toBe(300);
    const reversals = (await entries(order.outTradeNo)).filter((e) => e.entry_type === 'refund_reversal');
    expect(reversals).toHaveLength(3);
    expect(reversals.reduce((sum, e) => sum + e.points_delta, 0)).toBe(-100);
    expect(await balance(order.userId)).toBe(0);
    // The events say how much was refunded, and whether the order was then only partly refunded.
    const events = await eventually('three refund events', async () => {
      const e = world.outputs.settled.filter(
        (x) => x.outTradeNo === order.outTradeNo && x.status === 'refunded',
      );
      return new Set(e.map((x) => x.eventId)).size >= 3 ? e : undefined;
    });
    const byAmount = new Map(events.map((e) => [e.refundedAmount, e.partialRefund]));
    expect([...byAmount].sort(([a], [b]) => a - b)).toEqual([
      [100, true],
      [200, true],
      [300, false],
    ]);
    // Invariant 7 holds, and would see one reversal too many.
    const refundsAtWeChat = refunds.map((r) => ({
      outTradeNo: order.outTradeNo,
      outRefundNo: r.refund!.outRefundNo,
      amount: 100,
    }));
    expect((await checkInvariants(world.pool, { refundsAtWeChat })).violations).toEqual([]);
    const [[one]] = await world.pool.query<RowDataPacket[]>(
      "SELECT id, points_delta, reference_no FROM point_transactions WHERE out_trade_no = ? AND entry_type = 'refund_reversal' LIMIT 1",
      [order.outTradeNo],
    );
    await world.pool.query('UPDATE point_transactions SET points_delta = points_delta - 1 WHERE id = ?', [
      one?.id,
    ]);
    try {
      expect((await checkInvariants(world.pool, { refundsAtWeChat })).violations).toEqual(
        expect.arrayContaining([
          `7: ${order.outTradeNo} reversed 101 points of 100 credited`,
          // … and invariant 8 sees the refund row's record differ from its ledger entry.
          `8: refund ${one?.reference_no} records ${-one?.points_delta} points reversed, its ledger entry ${1 - one?.points_delta}`,
        ]),
      );
    } finally {
      await world.pool.query('UPDATE point_transactions SET points_delta = ? WHERE id = ?', [
        one?.points_delta,
        one?.id,
      ]);
    }
  });

  it('pending → failed on PAYERROR, pending → cancelled on CLOSED before expiry, pending → expired after it', async () => {
    const failed = await world.seedOrder();
    const cancelled = await world.seedOrder();
    const expired = await world.seedOrder({ timeExpire: new Date(Date.now() - 60_000) });
    const none = {
      transactionId: undefined,
      amount: undefined,
      successTime: undefined,
      source: 'query' as const,
    };
    await world.observe(
      observation(failed, { ...none, tradeState: 'PAYERROR' }),
      observation(cancelled, { ...none, tradeState: 'CLOSED' }),
      observation(expired, { ...none, tradeState: 'CLOSED' }),
    );
    await settledTo(failed, 'failed');
    await settledTo(cancelled, 'cancelled');
    await settledTo(expired, 'expired');
    for (const o of [failed, cancelled, expired]) expect(await entries(o.outTradeNo)).toEqual([]);
  });

  it('judges expiry when WeChat answered: a not-found seen before time_expire and applied after it changes nothing', async () => {
    const order = await world.seedOrder({ timeExpire: new Date(Date.now() - 60_000) });
    const seenBefore = new Date(order.timeExpire.getTime() - 5_000).toISOString();
    const gone = {
      transactionId: undefined,
      amount: undefined,
      successTime: undefined,
      source: 'query' as const,
      tradeState: 'ORDER_NOT_EXIST' as const,
    };
    await world.observe(observation(order, { ...gone, observedAt: seenBefore }));
    await world.waitUntilConsumed();
    expect((await orderRow(order.outTradeNo)).status).toBe('pending');
    await world.observe(observation(order, gone));
    await settledTo(order, 'expired');
  });

  it('NOTPAY leaves a pending order pending and journals the observation', async () => {
    const order = await world.seedOrder();
    await world.observe(
      observation(order, {
        tradeState: 'NOTPAY',
        transactionId: undefined,
        amount: undefined,
        source: 'query',
      }),
    );
    await world.waitUntilConsumed();
    expect((await orderRow(order.outTradeNo)).status).toBe('pending');
    const [journal] = await world.pool.query<RowDataPacket[]>(
      'SELECT outcome FROM order_observations WHERE out_trade_no = ?',
      [order.outTradeNo],
    );
    expect(journal).toEqual([{ outcome: 'unchanged' }]);
  });

  it('a late payment for an expired order settles and raises a critical alert', async () => {
    const order = await world.seedOrder({ status: 'expired', timeExpire: new Date(Date.now() - 60_000) });
    await world.observe(observation(order, { source: 'query' }));
    await settledTo(order, 'paid');
    expect(await entries(order.outTradeNo)).toHaveLength(1);
    const alert = await eventually('late payment alert', async () =>
      world.outputs.alerts.find((a) => a.outTradeNo === order.outTradeNo),
    );
    expect(alert).toMatchObject({ type: 'late_payment', severity: 'warning', source: 'points-ledger' });
    const event = await eventually('order-settled', async () =>
      world.outputs.settled.find((e) => e.outTradeNo === order.outTradeNo),
    );
    expect(event).toMatchObject({ latePayment: true, previousStatus: 'expired' });
  });

  it.each([
    ['an amount', { amount: { total: 1, currency: 'CNY' } }, 'amount_mismatch'],
    ['a merchant', { mchid: '1900000001' }, 'merchant_mismatch'],
    ['an app', { appid: 'wx_other_app_0001' }, 'merchant_mismatch'],
  ])(
    '%s mismatch never settles: the order is unchanged and a critical alert is raised',
    async (_n, bad, type) => {
      const order = await world.seedOrder();
      await world.observe(observation(order, bad));
      await world.waitUntilConsumed();
      const alert = await eventually('mismatch alert', async () =>
        world.outputs.alerts.find((a) => a.outTradeNo === order.outTradeNo),
      );
      expect(alert).toMatchObject({ type, severity: 'critical' });
      expect((await orderRow(order.outTradeNo)).status).toBe('pending');
      expect(await entries(order.outTradeNo)).toEqual([]);
    },
  );

  it('an observation for an unknown order goes to the DLQ with its reason, and alerts', async () => {
    const ghost = {
      outTradeNo: 'RCGHOST00000000000001',
      userId: 'u',
      amountTotal: 1,
      points: 0,
      bonusPoints: 0,
      status: 'pending',
      timeExpire: new Date(),
    };
    await world.observe(observation(ghost));
    const dl = await eventually('dead letter', async () =>
      world.outputs.deadLetters.find((d) => d.outTradeNo === ghost.outTradeNo),
    );
    expect(dl.reason).toBe('unknown_order');
    expect(JSON.parse(dl.originalValue).out_trade_no).toBe(ghost.outTradeNo);
    const alert = await eventually('unknown order alert', async () =>
      world.outputs.alerts.find((a) => a.type === 'unknown_order' && a.outTradeNo === ghost.outTradeNo),
    );
    expect(alert.severity).toBe('critical');
  });

  it('a malformed message goes to the DLQ with the contract’s reason and does not stop the stream', async () => {
    await world.publishRaw('RCMALFORMED0001', '{"out_trade_no":"RCMALFORMED0001","trade_state":"PAID?"}');
    const order = await world.seedOrder();
    await world.observe(observation(order));
    await settledTo(order, 'paid');
    const dl = await eventually('malformed dead letter', async () =>
      world.outputs.deadLetters.find((d) => d.outTradeNo === 'RCMALFORMED0001'),
    );
    expect(dl.reason).toBe('malformed');
    expect(dl.reasonDetail).toMatch(/trade_state/);
  });

  it('a refund larger than the balance is still recorded, the account flagged and an alert raised', async () => {
    const order = await world.seedOrder();
    await world.observe(observation(order));
    await settledTo(order, 'paid');
    // The user spent points meanwhile (another system's debit, modelled directly).
    await world.pool.query('UPDATE point_accounts SET balance = balance - 1000 WHERE user_id = ?', [
      order.userId,
    ]);
    await world.pool.query(
      `INSERT INTO point_transactions (user_id, out_trade_no, entry_type, reference_no, points_delta, balance_after)
       SELECT ?, ?, 'refund_reversal', 'SPEND', -1000, 100`,
      [order.userId, order.outTradeNo],
    );
    const refund = await world.signer.sign(
      refundObservation(order, `RF${order.outTradeNo}`.slice(0, 32), 1000),
    );
    await world.observeAsIs(refund);
    await settledTo(order, 'refunded');
    expect(await balance(order.userId)).toBe(-1000);
    const [[account]] = await world.pool.query<RowDataPacket[]>(
      'SELECT flagged FROM point_accounts WHERE user_id = ?',
      [order.userId],
    );
    expect(account?.flagged).toBe(1);
    const alert = await eventually('overdraw alert', async () =>
      world.outputs.alerts.find(
        (a) => a.type === 'refund_exceeds_balance' && a.outTradeNo === order.outTradeNo,
      ),
    );
    expect(alert.severity).toBe('critical');
    // Delivered again (a crash between commit and publish): the alert is published again from the
    // journal with the same dedupe key, so it pages once.
    await world.observeAsIs(refund);
    await world.waitUntilConsumed();
    const again = await eventually('the alert again', async () => {
      const all = world.outputs.alerts.filter(
        (a) => a.type === 'refund_exceeds_balance' && a.outTradeNo === order.outTradeNo,
      );
      return all.length >= 2 ? all : undefined;
    });
    expect(new Set(again.map((a) => a.dedupeKey))).toEqual(new Set([alert.dedupeKey]));
    expect(alert.dedupeKey).toBe(`refund_exceeds_balance:${order.outTradeNo}:${refund.refund!.outRefundNo}`);
    // The modelled spend is no refund: take it back out, so that the books of the whole database
    // (checked by the invariants below) hold again.
    await world.pool.query(
      "DELETE FROM point_transactions WHERE out_trade_no = ? AND reference_no = 'SPEND'",
      [order.outTradeNo],
    );
    await world.pool.query(
      'UPDATE point_accounts SET balance = balance + 1000, flagged = 0 WHERE user_id = ?',
      [order.userId],
    );
    await world.pool.query(
      "UPDATE point_transactions SET balance_after = balance_after + 1000 WHERE out_trade_no = ? AND entry_type = 'refund_reversal'",
      [order.outTradeNo],
    );
  });
});

describe('exactly once, whatever the order and the repeats', () => {
  it('five deliveries of each observation, interleaved and with the refund first, settle once and reverse once', async () => {
    const orders = await Promise.all(Array.from({ length: 12 }, () => world.seedOrder()));
    const streams = orders.map((o, i) => {
      const paid = observation(o, { source: i % 2 ? 'query' : 'notification' });
      const alsoPaid = observation(o, { source: 'query' }); // the same fact seen by another producer
      const refund = i % 3 === 0 ? [refundObservation(o, `RF${o.outTradeNo}`.slice(0, 32), 400)] : [];
      // Refund first for these: out of order.
      return [...refund, paid, alsoPaid];
    });
    // Every message five times, interleaved across orders.
    const all = streams.flatMap((s) => s.flatMap((m) => [m, m, m, m, m]));
    const shuffled = all.map((m, i) => ({ m, k: (i * 7919) % all.length })).sort((a, b) => a.k - b.k);
    // Keep each order's own sequence (Kafka orders per key), interleave across orders.
    await world.observe(...shuffled.map((x) => x.m));
    await world.waitUntilConsumed(120_000);

    for (const [i, o] of orders.entries()) {
      const list = await entries(o.outTradeNo);
      const recharges = list.filter((e) => e.entry_type === 'recharge');
      const reversals = list.filter((e) => e.entry_type === 'refund_reversal');
      expect(recharges).toHaveLength(1);
      expect(reversals).toHaveLength(i % 3 === 0 ? 1 : 0);
      expect(await balance(o.userId)).toBe(i % 3 === 0 ? 1100 - 440 : 1100);
      expect((await orderRow(o.outTradeNo)).status).toBe(i % 3 === 0 ? 'refunded' : 'paid');
    }
    const report = await checkInvariants(world.pool, {
      paidAtWeChat: orders.map((o) => ({
        outTradeNo: o.outTradeNo,
        transactionId: observation(o).transactionId as string,
        amountTotal: o.amountTotal,
        mchid: '1900007291',
        appid: 'wxd678efh567hg6787',
      })),
    });
    expect(report.violations).toEqual([]);
    const [[dups]] = await world.pool.query<RowDataPacket[]>(
      `SELECT COUNT(*) AS n FROM order_observations WHERE out_trade_no IN (?) AND outcome = 'duplicate'`,
      [orders.map((o) => o.outTradeNo)],
    );
    // Repeats of the same message are not journaled again; distinct observations of a known fact are.
    expect(Number(dups?.n)).toBeGreaterThan(0);
  });
});

describe('what an observation locks', () => {
  it('a NOTPAY takes no lock on the user’s account: a held account does not hold it up', async () => {
    const order = await world.seedOrder();
    await world.pool.query('INSERT INTO point_accounts (user_id, balance) VALUES (?, 0)', [order.userId]);
    const holder = await world.pool.getConnection();
    try {
      await holder.beginTransaction();
      await holder.query('SELECT balance FROM point_accounts WHERE user_id = ? FOR UPDATE', [order.userId]);
      await world.observe(
        observation(order, {
          source: 'query',
          tradeState: 'NOTPAY',
          transactionId: undefined,
          amount: undefined,
          successTime: undefined,
        }),
      );
      // Journaled while the account stays locked: had it needed the account, it would wait for the
      // lock, time out and be left for later, again and again, until the lock is released below.
      const journaled = await eventually(
        'the NOTPAY journaled while the account is locked',
        async () => {
          const [rows] = await world.pool.query<RowDataPacket[]>(
            'SELECT outcome FROM order_observations WHERE out_trade_no = ?',
            [order.outTradeNo],
          );
          return rows.length > 0 ? rows.map((r) => r.outcome) : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      expect(journaled).toEqual(['unchanged']);
    } finally {
      await holder.rollback();
      holder.release();
    }
  });
});
