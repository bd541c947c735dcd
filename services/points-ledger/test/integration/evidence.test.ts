import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { PaymentObservation } from '@paysync/contracts';
import type { RowDataPacket } from '@paysync/db';
import { checkInvariants, eventually, TestWeChatSigner } from '@paysync/testkit';
import {
  createLedgerWorld,
  type LedgerWorld,
  notFoundObservation,
  observation,
  refundObservation,
  type SeedOrder,
} from '../world.ts';

// Invariant 6 against the real ledger: a message on Kafka is a claim. Only WeChat's signed word,
// checked by the ledger itself, credits, reverses or finalises anything.

let world: LedgerWorld;

beforeAll(async () => {
  world = await createLedgerWorld('evidence');
  await world.startLedger();
});

afterAll(async () => {
  await world?.close();
});

async function state(order: SeedOrder) {
  const [[row]] = await world.pool.query<RowDataPacket[]>(
    `SELECT o.status, o.transaction_id, o.refunded_amount,
            (SELECT COUNT(*) FROM point_transactions t WHERE t.out_trade_no = o.out_trade_no) AS entries,
            (SELECT COALESCE(SUM(balance), 0) FROM point_accounts a WHERE a.user_id = o.user_id) AS balance
       FROM payment_orders o WHERE o.out_trade_no = ?`,
    [order.outTradeNo],
  );
  return {
    status: String(row?.status),
    transactionId: row?.transaction_id ?? null,
    refunded: Number(row?.refunded_amount),
    entries: Number(row?.entries),
    balance: Number(row?.balance),
  };
}

async function journal(order: SeedOrder) {
  const [rows] = await world.pool.query<RowDataPacket[]>(
    'SELECT outcome, detail FROM order_observations WHERE out_trade_no = ? ORDER BY id',
    [order.outTradeNo],
  );
  return rows.map((r) => ({ outcome: String(r.outcome), detail: String(r.detail) }));
}

const unverifiedAlerts = (order: SeedOrder) =>
  world.outputs.alerts.filter(
    (a) => a.type === 'unverified_observation' && a.outTradeNo === order.outTradeNo,
  );

describe('the ledger checks the evidence itself', () => {
  it('forged observations of every source and trade state credit nothing, change nothing, and alert once', async () => {
    const order = await world.seedOrder({ timeExpire: new Date(Date.now() - 60_000) });
    const forged: PaymentObservation[] = [
      observation(order),
      observation(order, { tradeState: 'REFUND' }),
      refundObservation(order, 'RF_FORGED_1', order.amountTotal),
      observation(order, { source: 'query' }),
      observation(order, {
        source: 'query',
        tradeState: 'CLOSED',
        transactionId: undefined,
        amount: undefined,
      }),
      observation(order, {
        source: 'query',
        tradeState: 'PAYERROR',
        transactionId: undefined,
        amount: undefined,
      }),
      notFoundObservation(order),
      observation(order, { source: 'manual', actor: 'mallory', reason: 'trust me' }),
    ];
    await world.observeAsIs(...forged);
    await world.waitUntilConsumed();
    expect(await state(order)).toEqual({
      status: 'pending',
      transactionId: null,
      refunded: 0,
      entries: 0,
      balance: 0,
    });
    const rows = await journal(order);
    expect(rows.map((r) => r.outcome)).toEqual(forged.map(() => 'unverified'));
    expect(rows[0]?.detail).toContain('no_evidence');
    const alerts = await eventually('the alerts', async () =>
      unverifiedAlerts(order).length >= forged.length ? unverifiedAlerts(order) : undefined,
    );
    // One dedupe key per producer and order: the alerting service pages once.
    expect(new Set(alerts.map((a) => a.dedupeKey)).size).toBe(1);
    expect(alerts[0]).toMatchObject({ severity: 'critical', details: { producer: 'test' } });
  });

  it('refuses genuine evidence replayed for another order, with a changed amount, or with a swapped body', async () => {
    const [a, b, c] = [await world.seedOrder(), await world.seedOrder(), await world.seedOrder()];
    const genuineA = await world.signer.sign(observation(a));
    const genuineC = await world.signer.sign(observation(c, { source: 'query' }));
    const evidenceOf = (o: PaymentObservation) => {
      if (o.evidence?.kind !== 'notification' && o.evidence?.kind !== 'answer')
        throw new Error('signed evidence');
      return o.evidence;
    };
    await world.observeAsIs(
      // A's paid notification, claimed for B (same amount: a creator of orders knows the amounts).
      { ...genuineA, observationId: crypto.randomUUID(), outTradeNo: b.outTradeNo },
      // A's own evidence with another amount.
      { ...genuineA, observationId: crypto.randomUUID(), amount: { total: 1, currency: 'CNY' } },
      // C's query answer with A's body under C's signature — and C's own observation id, so that
      // the genuine message must not be taken for a repeat of the forgery.
      { ...genuineC, evidence: { ...evidenceOf(genuineC), body: evidenceOf(genuineA).body } },
    );
    await world.waitUntilConsumed();
    for (const o of [a, b, c]) expect((await state(o)).status).toBe('pending');
    expect((await journal(b)).map((r) => r.detail)).toEqual([expect.stringContaining('content_differs')]);
    expect((await journal(a)).map((r) => r.detail)).toEqual([expect.stringContaining('content_differs')]);
    expect((await journal(c)).map((r) => r.outcome)).toEqual(['unverified']);
    // The genuine messages themselves still settle A and C.
    await world.observeAsIs(genuineA, genuineC);
    await world.waitUntilConsumed();
    expect(await state(a)).toMatchObject({ status: 'paid', entries: 1 });
    expect(await state(c)).toMatchObject({ status: 'paid', entries: 1 });
  });

  it('binds a signed "order not exist" to its order: replayed for another, it finalises nothing', async () => {
    const expired = new Date(Date.now() - 60_000);
    const [a, b] = [
      await world.seedOrder({ timeExpire: expired }),
      await world.seedOrder({ timeExpire: expired }),
    ];
    const signedA = await world.signer.sign(notFoundObservation(a));
    await world.observeAsIs(signedA);
    await world.waitUntilConsumed();
    expect((await state(a)).status).toBe('expired');
    await world.observeAsIs({ ...signedA, observationId: crypto.randomUUID(), outTradeNo: b.outTradeNo });
    await world.waitUntilConsumed();
    expect((await state(b)).status).toBe('pending');
    expect((await journal(b)).map((r) => r.detail)).toEqual([expect.stringContaining('replayed')]);
  });

  it('judges expiry when WeChat signed the answer, not when a producer says it looked', async () => {
    const order = await world.seedOrder({ timeExpire: new Date(Date.now() - 60_000) });
    // Signed before time_expire, but claimed to be observed now (a DLQ retry, a lying producer).
    const signed = await world.signer.sign(notFoundObservation(order), {
      at: new Date(order.timeExpire.getTime() - 30_000),
    });
    await world.observeAsIs(signed);
    await world.waitUntilConsumed();
    expect((await state(order)).status).toBe('pending');
    expect((await journal(order)).map((r) => r.outcome)).toEqual(['unchanged']);
  });

  it('refuses evidence signed by a key WeChat never used, even when it is well-formed', async () => {
    const order = await world.seedOrder();
    const impostor = new TestWeChatSigner();
    await world.observeAsIs(await impostor.sign(observation(order)));
    await world.waitUntilConsumed();
    expect(await state(order)).toMatchObject({ status: 'pending', entries: 0 });
    expect((await journal(order)).map((r) => r.detail)).toEqual([expect.stringContaining('unknown_key')]);
  });

  it('keeps the books consistent both ways, and the check sees an entry written around the ledger', async () => {
    const paid = world.signer.paid();
    expect(
      (await checkInvariants(world.pool, { paidAtWeChat: paid, paidAtWeChatIsComplete: true })).violations,
    ).toEqual([]);
    // A hand-written "fix": paid here, points credited, and nothing signed behind it.
    const order = await world.seedOrder();
    await world.pool.query(
      "UPDATE payment_orders SET status = 'paid', transaction_id = '4200HANDWRITTEN' WHERE out_trade_no = ?",
      [order.outTradeNo],
    );
    await world.pool.query(
      `INSERT INTO point_transactions (user_id, out_trade_no, entry_type, reference_no, points_delta, bonus_points, balance_after)
       VALUES (?, ?, 'recharge', '', 1, 0, 1)`,
      [order.userId, order.outTradeNo],
    );
    const report = await checkInvariants(world.pool, { paidAtWeChat: paid, paidAtWeChatIsComplete: true });
    expect(report.violations).toEqual(
      expect.arrayContaining([
        `6: ${order.outTradeNo} is paid here but WeChat has no payment for it`,
        `6: recharge entry of ${order.outTradeNo} has no verified observation behind it`,
      ]),
    );
    await world.pool.query('DELETE FROM point_transactions WHERE out_trade_no = ?', [order.outTradeNo]);
    await world.pool.query(
      "UPDATE payment_orders SET status = 'pending', transaction_id = NULL WHERE out_trade_no = ?",
      [order.outTradeNo],
    );
  });
});
