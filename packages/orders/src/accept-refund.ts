import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock, PaymentObservation } from '@paysync/contracts';
import {
  findRefundByMerchantNo,
  insertRefund,
  isDuplicateKeyError,
  listRefunds,
  orderTotals,
  type Pool,
  type PoolConnection,
  type RefundRow,
  type RowDataPacket,
  refundTracker,
  withTransaction,
} from '@paysync/db';
import type { LedgerOrder } from './decide.ts';
import {
  committedFen,
  type DriveResult,
  driveRefund,
  holdPoints,
  nextRefundCheck,
  type RefundApi,
  type RefundRefusal,
  refuseRefund,
} from './refunds.ts';

/** A refund someone asks paysync to make (the order API, payctl). */
export type RefundRequest = {
  outTradeNo: string;
  /** The caller's own refund number: asking again with it returns the same refund. */
  merchantRefundNo: string | null;
  amountFen: number;
  reason: string | null;
  origin: 'api' | 'payctl';
  requestedBy: string | null;
};

export type Acceptance =
  | { kind: 'accepted'; refund: RefundRow }
  | { kind: 'existing'; refund: RefundRow }
  | { kind: 'conflict'; refund: RefundRow; differs: string }
  | { kind: 'not_found' }
  | { kind: 'refused'; refusal: RefundRefusal }
  /** A dry run: what would be accepted, nothing written. */
  | { kind: 'would_accept'; amountFen: number; holdPoints: number; refundableFen: number };

type OrderRow = RowDataPacket & Record<string, unknown>;

/** The order a refund is for, locked by its key for the caller's transaction (as the ledger sees it). */
async function lockOrder(conn: PoolConnection, outTradeNo: string): Promise<LedgerOrder | undefined> {
  const [rows] = await conn.query<OrderRow[]>(
    `SELECT out_trade_no, user_id, mchid, appid, amount_total, points, bonus_points, status,
            transaction_id, time_expire, refunded_amount
       FROM payment_orders FORCE INDEX (uk_payment_orders_out_trade_no)
      WHERE out_trade_no = ? FOR UPDATE`,
    [outTradeNo],
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    outTradeNo: r.out_trade_no as string,
    userId: r.user_id as string,
    mchid: r.mchid as string,
    appid: r.appid as string,
    amountTotal: Number(r.amount_total),
    points: Number(r.points),
    bonusPoints: Number(r.bonus_points),
    status: r.status as LedgerOrder['status'],
    transactionId: (r.transaction_id as string | null) ?? null,
    timeExpire: r.time_expire as Date,
    refundedAmount: Number(r.refunded_amount),
  };
}

/** RF + UTC yyyyMMddHHmmss + 12 random hex: 28 characters of WeChat's out_refund_no alphabet. */
export function newOutRefundNo(now: Date): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `RF${stamp}${randomBytes(6).toString('hex')}`;
}

function sameRequest(existing: RefundRow, req: RefundRequest): string | undefined {
  const differs: string[] = [];
  if (existing.outTradeNo !== req.outTradeNo) differs.push('order');
  if (existing.amountFen !== req.amountFen) differs.push('amount_fen');
  if ((existing.reason ?? null) !== (req.reason ?? null)) differs.push('reason');
  return differs.length > 0 ? differs.join(', ') : undefined;
}

/**
 * Accepts a refund: under the order's row lock (so two requests racing for the last refundable fen
 * are decided one after the other), checks it against the order and its other refunds, and inserts
 * it `processing` with its points hold and a first step due now. Sending it to WeChat is the next
 * step (driveRefund), by the caller at once and by the sweep until WeChat has answered.
 */
export async function acceptRefund(
  pool: Pool,
  req: RefundRequest,
  options: { now: Date; dryRun?: boolean; newOutRefundNo?: (now: Date) => string },
): Promise<Acceptance> {
  for (let attempt = 0; ; attempt += 1) {
    if (req.merchantRefundNo !== null) {
      const existing = await findRefundByMerchantNo(pool, req.merchantRefundNo);
      if (existing) {
        const differs = sameRequest(existing, req);
        return differs
          ? { kind: 'conflict', refund: existing, differs }
          : { kind: 'existing', refund: existing };
      }
    }
    try {
      return await withTransaction(pool, async (conn) => {
        const order = await lockOrder(conn, req.outTradeNo);
        if (!order) return { kind: 'not_found' } as const;
        const refunds = await listRefunds(conn, req.outTradeNo);
        const refusal = refuseRefund(order, refunds, req.amountFen);
        if (refusal) return { kind: 'refused', refusal } as const;
        const hold = holdPoints(order, refunds, req.amountFen);
        if (options.dryRun) {
          return {
            kind: 'would_accept',
            amountFen: req.amountFen,
            holdPoints: hold,
            refundableFen: order.amountTotal - committedFen(order, refunds),
          } as const;
        }
        const outRefundNo = (options.newOutRefundNo ?? newOutRefundNo)(options.now);
        await insertRefund(conn, {
          outRefundNo,
          outTradeNo: order.outTradeNo,
          merchantRefundNo: req.merchantRefundNo,
          mchid: order.mchid,
          userId: order.userId,
          amountFen: req.amountFen,
          reason: req.reason,
          origin: req.origin,
          requestedBy: req.requestedBy,
          holdPoints: hold,
          nextCheckAt: nextRefundCheck(0, options.now),
        });
        const [refund] = (await listRefunds(conn, order.outTradeNo)).filter(
          (r) => r.outRefundNo === outRefundNo,
        );
        return { kind: 'accepted', refund: refund as RefundRow } as const;
      });
    } catch (err) {
      // Another request with the same merchant_refund_no won the race: answer with its refund.
      if (isDuplicateKeyError(err) && attempt < 2) continue;
      throw err;
    }
  }
}

export type StoredRefundDeps = {
  pool: Pool;
  wechat: RefundApi;
  publish(obs: PaymentObservation): Promise<void>;
  notifyUrl: string;
  producer: string;
  clock: Clock;
};

/**
 * The next step of stored refunds (driveRefund): the create again while WeChat has not answered it,
 * else a query. The order API calls it for a refund it just accepted; the sweep for due ones.
 */
export async function driveStoredRefund(deps: StoredRefundDeps, refund: RefundRow): Promise<DriveResult> {
  const totals = await orderTotals(deps.pool, [refund.outTradeNo]);
  return driveRefund(
    {
      wechat: deps.wechat,
      tracker: refundTracker(deps.pool),
      publish: deps.publish,
      notifyUrl: deps.notifyUrl,
      envelope: () => ({
        observationId: randomUUID(),
        source: 'query',
        observedAt: new Date(deps.clock()),
        producer: deps.producer,
      }),
      clock: deps.clock,
    },
    {
      outRefundNo: refund.outRefundNo,
      outTradeNo: refund.outTradeNo,
      mchid: refund.mchid,
      amountFen: refund.amountFen,
      totalFen: totals.get(refund.outTradeNo) ?? 0,
      reason: refund.reason,
      submittedAt: refund.submittedAt,
      checkAttempts: refund.checkAttempts,
    },
  );
}
