import type { Pool, RowDataPacket } from 'mysql2/promise';

/** What WeChat Pay (the sandbox) says was paid: the truth invariants 1 and 3 compare against. */
export type WeChatPaidOrder = {
  outTradeNo: string;
  transactionId: string;
  amountTotal: number;
  mchid: string;
  appid: string;
};

/** A refund WeChat (the sandbox) reports SUCCESS: invariant 7 expects exactly one reversal for it. */
export type WeChatRefund = { outTradeNo: string; outRefundNo: string; amount: number };

export type InvariantReport = { ok: boolean; violations: string[]; checked: Record<string, number> };

type Row = RowDataPacket & Record<string, unknown>;

/**
 * Checks DESIGN.md's invariants against the database once the system is quiet. Every test that
 * moves money ends with this, including after faults. Invariant 4 (no acknowledgement before
 * Kafka has the observation) is a property of the gateway and is checked by its own tests.
 *
 * @param paidAtWeChat the orders WeChat reports SUCCESS (or REFUND) for, when the caller knows them.
 */
export async function checkInvariants(
  pool: Pool,
  opts: {
    paidAtWeChat?: readonly WeChatPaidOrder[];
    /**
     * True when paidAtWeChat lists every order WeChat reports paid or refunded among this
     * database's orders: then the converse of invariant 1 is checked too (6: nothing is paid here
     * that WeChat did not take the money for).
     */
    paidAtWeChatIsComplete?: boolean;
    /** Every successful refund at WeChat of this database's orders, when the caller knows them. */
    refundsAtWeChat?: readonly WeChatRefund[];
    maxViolationsListed?: number;
  } = {},
): Promise<InvariantReport> {
  const violations: string[] = [];
  const limit = opts.maxViolationsListed ?? 20;
  const add = (v: string) => {
    if (violations.length < limit) violations.push(v);
    else if (violations.length === limit) violations.push('… more violations not listed');
  };

  const [orders] = await pool.query<Row[]>(
    'SELECT out_trade_no, status, transaction_id, amount_total, mchid, appid, next_check_at FROM payment_orders',
  );
  const byNo = new Map(orders.map((o) => [String(o.out_trade_no), o]));

  // 1. Every order WeChat reports paid is paid (or refunded) here.
  // 3. … and settled with WeChat's amount, merchant, app and transaction.
  for (const p of opts.paidAtWeChat ?? []) {
    const o = byNo.get(p.outTradeNo);
    if (!o) {
      add(`1: ${p.outTradeNo} is paid at WeChat but unknown here`);
      continue;
    }
    if (o.status !== 'paid' && o.status !== 'refunded')
      add(`1: ${p.outTradeNo} is paid at WeChat but ${o.status} here`);
    if (Number(o.amount_total) !== p.amountTotal || o.mchid !== p.mchid || o.appid !== p.appid) {
      add(`3: ${p.outTradeNo} differs from WeChat in amount, mchid or appid`);
    }
    if (o.transaction_id !== null && o.transaction_id !== p.transactionId) {
      add(`3: ${p.outTradeNo} settled with transaction ${o.transaction_id}, WeChat says ${p.transactionId}`);
    }
  }

  // 2. Exactly one recharge entry per paid order; none for an order that is not paid or refunded.
  const [recharges] = await pool.query<Row[]>(
    `SELECT o.out_trade_no, o.status, COUNT(t.id) AS n
       FROM payment_orders o LEFT JOIN point_transactions t
         ON t.out_trade_no = o.out_trade_no AND t.entry_type = 'recharge'
      GROUP BY o.out_trade_no, o.status`,
  );
  for (const r of recharges) {
    const paid = r.status === 'paid' || r.status === 'refunded';
    const n = Number(r.n);
    if (paid && n !== 1) add(`2: ${r.out_trade_no} is ${r.status} with ${n} recharge entries`);
    if (!paid && n !== 0) add(`2: ${r.out_trade_no} is ${r.status} but has ${n} recharge entries`);
  }
  const [orphans] = await pool.query<Row[]>(
    `SELECT t.out_trade_no FROM point_transactions t
       LEFT JOIN payment_orders o ON o.out_trade_no = t.out_trade_no
      WHERE o.out_trade_no IS NULL OR o.status NOT IN ('paid', 'refunded')`,
  );
  for (const o of orphans) add(`2: ledger entry for ${o.out_trade_no}, whose order is not paid or refunded`);

  // 2. Each account's balance is the sum of its entries, and its last entry's balance_after.
  const [balances] = await pool.query<Row[]>(
    `SELECT a.user_id, a.balance, COALESCE(SUM(t.points_delta), 0) AS total,
            (SELECT t2.balance_after FROM point_transactions t2 WHERE t2.user_id = a.user_id ORDER BY t2.id DESC LIMIT 1) AS last_after
       FROM point_accounts a LEFT JOIN point_transactions t ON t.user_id = a.user_id
      GROUP BY a.user_id, a.balance`,
  );
  for (const b of balances) {
    if (Number(b.balance) !== Number(b.total)) {
      add(`2: account ${b.user_id} balance ${b.balance} but entries sum to ${b.total}`);
    }
    if (b.last_after !== null && Number(b.last_after) !== Number(b.balance)) {
      add(`2: account ${b.user_id} balance ${b.balance} but its last entry says ${b.last_after}`);
    }
  }

  // 6. Conversely, every order paid or refunded here is paid or refunded at WeChat …
  if (opts.paidAtWeChatIsComplete) {
    const atWeChat = new Set((opts.paidAtWeChat ?? []).map((p) => p.outTradeNo));
    for (const o of orders) {
      if ((o.status === 'paid' || o.status === 'refunded') && !atWeChat.has(String(o.out_trade_no))) {
        add(`6: ${o.out_trade_no} is ${o.status} here but WeChat has no payment for it`);
      }
    }
  }
  // … and every ledger entry rests on an applied observation that carried WeChat's signed evidence
  // (the ledger applies nothing else; this catches a write that went around it).
  const [unbacked] = await pool.query<Row[]>(
    `SELECT t.out_trade_no, t.entry_type FROM point_transactions t
      WHERE NOT EXISTS (
        SELECT 1 FROM order_observations j
         WHERE j.out_trade_no = t.out_trade_no
           AND j.outcome IN ('settled', 'late', 'refunded')
           AND JSON_EXTRACT(j.payload, '$.evidence') IS NOT NULL)`,
  );
  for (const u of unbacked) {
    add(`6: ${u.entry_type} entry of ${u.out_trade_no} has no verified observation behind it`);
  }

  // 7. Refunds reverse points exactly: never more than was credited, all of it after a full refund,
  // and the refunded amount recorded is what the reversals are for.
  const [reversals] = await pool.query<Row[]>(
    `SELECT o.out_trade_no, o.amount_total, o.refunded_amount,
            COALESCE(SUM(CASE WHEN t.entry_type = 'recharge' THEN t.points_delta END), 0) AS credited,
            COALESCE(-SUM(CASE WHEN t.entry_type = 'refund_reversal' THEN t.points_delta END), 0) AS reversed
       FROM payment_orders o JOIN point_transactions t ON t.out_trade_no = o.out_trade_no
      GROUP BY o.out_trade_no, o.amount_total, o.refunded_amount`,
  );
  for (const r of reversals) {
    const credited = Number(r.credited);
    const reversed = Number(r.reversed);
    const refunded = Number(r.refunded_amount);
    const total = Number(r.amount_total);
    if (reversed > credited) add(`7: ${r.out_trade_no} reversed ${reversed} points of ${credited} credited`);
    if (refunded >= total && reversed !== credited) {
      add(`7: ${r.out_trade_no} is fully refunded but ${credited - reversed} points stay credited`);
    }
    const owed = refunded >= total ? credited : Math.floor((credited * refunded) / total);
    if (refunded < total && reversed !== owed) {
      add(
        `7: ${r.out_trade_no} refunded ${refunded} of ${total} fen, reversed ${reversed} points, owes ${owed}`,
      );
    }
  }
  // 7. … and every refund at WeChat has exactly one reversal here.
  if (opts.refundsAtWeChat) {
    const [entries] = await pool.query<Row[]>(
      "SELECT out_trade_no, reference_no, COUNT(*) AS n FROM point_transactions WHERE entry_type = 'refund_reversal' GROUP BY out_trade_no, reference_no",
    );
    const count = new Map(entries.map((e) => [`${e.out_trade_no}/${e.reference_no}`, Number(e.n)]));
    for (const f of opts.refundsAtWeChat) {
      const n = count.get(`${f.outTradeNo}/${f.outRefundNo}`) ?? 0;
      if (n !== 1) add(`7: refund ${f.outRefundNo} of ${f.outTradeNo} has ${n} reversals here`);
    }
  }

  // 8. No hold outlives its refund; every refund WeChat completed is reversed here exactly once,
  //    nothing is reversed for a refund that did not complete, and the refund row records the
  //    points its ledger entry reversed.
  const [refunds] = await pool.query<Row[]>(
    `SELECT r.out_refund_no, r.out_trade_no, r.status, r.hold_released_at, r.reversed_points,
            COUNT(t.id) AS reversals, COALESCE(-SUM(t.points_delta), 0) AS reversed
       FROM payment_refunds r
       LEFT JOIN point_transactions t
         ON t.out_trade_no = r.out_trade_no AND t.entry_type = 'refund_reversal'
        AND t.reference_no = r.out_refund_no
      GROUP BY r.id, r.out_refund_no, r.out_trade_no, r.status, r.hold_released_at, r.reversed_points`,
  );
  for (const r of refunds) {
    const final = r.status === 'succeeded' || r.status === 'closed' || r.status === 'rejected';
    if (final && r.hold_released_at === null)
      add(`8: refund ${r.out_refund_no} is ${r.status} but still holds points`);
    const reversals = Number(r.reversals);
    if (r.status === 'succeeded' && reversals !== 1)
      add(`8: refund ${r.out_refund_no} of ${r.out_trade_no} succeeded with ${reversals} reversals here`);
    if (r.status !== 'succeeded' && reversals > 0)
      add(`8: refund ${r.out_refund_no} of ${r.out_trade_no} is ${r.status} but was reversed`);
    // The refund row's record of its reversal is the ledger entry's, to the point.
    const recorded = r.reversed_points === null ? 0 : Number(r.reversed_points);
    if (reversals === 1 && recorded !== Number(r.reversed))
      add(
        `8: refund ${r.out_refund_no} records ${recorded} points reversed, its ledger entry ${Number(r.reversed)}`,
      );
  }

  // 5. Every order is final or still being checked: a pending order has a next check scheduled.
  for (const o of orders) {
    if (o.status === 'pending' && o.next_check_at === null)
      add(`5: ${o.out_trade_no} is pending with no next check`);
  }

  return {
    ok: violations.length === 0,
    violations,
    checked: {
      orders: orders.length,
      accounts: balances.length,
      paidAtWeChat: opts.paidAtWeChat?.length ?? 0,
      refundsAtWeChat: opts.refundsAtWeChat?.length ?? 0,
    },
  };
}
