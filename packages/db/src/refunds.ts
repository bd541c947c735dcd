import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';

/**
 * The refunds table's SQL, in one place: the order API and payctl insert refunds, the sweep
 * records what WeChat answered, the ledger moves their status. The rules of those moves live in
 * @paysync/orders; this file only reads and writes rows.
 */

export type RefundRow = {
  outRefundNo: string;
  outTradeNo: string;
  merchantRefundNo: string | null;
  mchid: string;
  userId: string;
  amountFen: number;
  reason: string | null;
  origin: 'api' | 'payctl' | 'wechat';
  requestedBy: string | null;
  status: 'processing' | 'succeeded' | 'closed' | 'abnormal' | 'rejected';
  wechatStatus: string | null;
  refundId: string | null;
  submittedAt: Date | null;
  failureCode: string | null;
  holdPoints: number;
  holdReleasedAt: Date | null;
  reversedPoints: number | null;
  successTime: Date | null;
  nextCheckAt: Date | null;
  checkAttempts: number;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
};

const COLUMNS = `out_refund_no, out_trade_no, merchant_refund_no, mchid, user_id, amount_fen, reason,
  origin, requested_by, status, wechat_status, refund_id, submitted_at, failure_code, hold_points,
  hold_released_at, reversed_points, success_time, next_check_at, check_attempts, last_error,
  created_at, updated_at`;

type Row = RowDataPacket & Record<string, unknown>;

function toRefund(r: Row): RefundRow {
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    outRefundNo: r.out_refund_no as string,
    outTradeNo: r.out_trade_no as string,
    merchantRefundNo: (r.merchant_refund_no as string | null) ?? null,
    mchid: r.mchid as string,
    userId: r.user_id as string,
    amountFen: Number(r.amount_fen),
    reason: (r.reason as string | null) ?? null,
    origin: r.origin as RefundRow['origin'],
    requestedBy: (r.requested_by as string | null) ?? null,
    status: r.status as RefundRow['status'],
    wechatStatus: (r.wechat_status as string | null) ?? null,
    refundId: (r.refund_id as string | null) ?? null,
    submittedAt: (r.submitted_at as Date | null) ?? null,
    failureCode: (r.failure_code as string | null) ?? null,
    holdPoints: Number(r.hold_points),
    holdReleasedAt: (r.hold_released_at as Date | null) ?? null,
    reversedPoints: num(r.reversed_points),
    successTime: (r.success_time as Date | null) ?? null,
    nextCheckAt: (r.next_check_at as Date | null) ?? null,
    checkAttempts: Number(r.check_attempts),
    lastError: (r.last_error as string | null) ?? null,
    createdAt: r.created_at as Date,
    updatedAt: r.updated_at as Date,
  };
}

type Queryable = Pick<Pool, 'query'> | Pick<PoolConnection, 'query'>;

export async function findRefund(db: Queryable, outRefundNo: string): Promise<RefundRow | undefined> {
  const [rows] = await db.query<Row[]>(`SELECT ${COLUMNS} FROM payment_refunds WHERE out_refund_no = ?`, [
    outRefundNo,
  ]);
  return rows[0] ? toRefund(rows[0]) : undefined;
}

export async function findRefundByMerchantNo(
  db: Queryable,
  merchantRefundNo: string,
): Promise<RefundRow | undefined> {
  const [rows] = await db.query<Row[]>(
    `SELECT ${COLUMNS} FROM payment_refunds WHERE merchant_refund_no = ?`,
    [merchantRefundNo],
  );
  return rows[0] ? toRefund(rows[0]) : undefined;
}

/** An order's refunds, oldest first. */
export async function listRefunds(db: Queryable, outTradeNo: string): Promise<RefundRow[]> {
  const [rows] = await db.query<Row[]>(
    `SELECT ${COLUMNS} FROM payment_refunds WHERE out_trade_no = ? ORDER BY id`,
    [outTradeNo],
  );
  return rows.map(toRefund);
}

/** Refunds by number, locked for the caller's transaction (the ledger, after the orders' locks). */
export async function lockRefunds(
  conn: PoolConnection,
  outRefundNos: readonly string[],
): Promise<Map<string, RefundRow>> {
  if (outRefundNos.length === 0) return new Map();
  const [rows] = await conn.query<Row[]>(
    `SELECT ${COLUMNS} FROM payment_refunds FORCE INDEX (uk_payment_refunds_out_refund_no)
      WHERE out_refund_no IN (?) ORDER BY out_refund_no FOR UPDATE`,
    [outRefundNos],
  );
  return new Map(rows.map((r) => [r.out_refund_no as string, toRefund(r)]));
}

export type NewRefund = Pick<
  RefundRow,
  | 'outRefundNo'
  | 'outTradeNo'
  | 'merchantRefundNo'
  | 'mchid'
  | 'userId'
  | 'amountFen'
  | 'reason'
  | 'origin'
  | 'requestedBy'
  | 'holdPoints'
> & { nextCheckAt: Date };

/** A refund accepted here (processing, holding its points), before it is sent to WeChat. */
export async function insertRefund(conn: Queryable, r: NewRefund): Promise<void> {
  await conn.query(
    `INSERT INTO payment_refunds (out_refund_no, out_trade_no, merchant_refund_no, mchid, user_id,
       amount_fen, reason, origin, requested_by, status, hold_points, next_check_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'processing', ?, ?)`,
    [
      r.outRefundNo,
      r.outTradeNo,
      r.merchantRefundNo,
      r.mchid,
      r.userId,
      r.amountFen,
      r.reason,
      r.origin,
      r.requestedBy,
      r.holdPoints,
      r.nextCheckAt,
    ],
  );
}

/** What the ledger writes for a refund WeChat spoke about (one row each, inserted if unknown). */
export type RefundUpdate = {
  outRefundNo: string;
  outTradeNo: string;
  mchid: string;
  userId: string;
  amountFen: number;
  status: RefundRow['status'];
  wechatStatus: string;
  refundId: string;
  successTime: Date | null;
  /** Points this observation reversed (only the one that reversed them sets it). */
  reversedPoints: number | null;
  releaseHold: boolean;
  known: boolean;
};

export async function saveRefundUpdates(
  conn: PoolConnection,
  updates: readonly RefundUpdate[],
  now: Date,
): Promise<void> {
  for (const u of updates) {
    if (!u.known) {
      // Made elsewhere (the merchant platform): learnt here, nothing held for it.
      await conn.query(
        `INSERT INTO payment_refunds (out_refund_no, out_trade_no, mchid, user_id, amount_fen, origin,
           status, wechat_status, refund_id, submitted_at, hold_points, hold_released_at,
           reversed_points, success_time)
         VALUES (?, ?, ?, ?, ?, 'wechat', ?, ?, ?, ?, 0, ?, ?, ?)`,
        [
          u.outRefundNo,
          u.outTradeNo,
          u.mchid,
          u.userId,
          u.amountFen,
          u.status,
          u.wechatStatus,
          u.refundId,
          now,
          u.releaseHold ? now : null,
          u.reversedPoints,
          u.successTime,
        ],
      );
      continue;
    }
    await conn.query(
      `UPDATE payment_refunds FORCE INDEX (uk_payment_refunds_out_refund_no)
          SET status = ?, wechat_status = ?, refund_id = COALESCE(refund_id, ?),
              submitted_at = COALESCE(submitted_at, ?),
              hold_released_at = CASE WHEN ? THEN COALESCE(hold_released_at, ?) ELSE hold_released_at END,
              reversed_points = COALESCE(reversed_points, ?),
              success_time = COALESCE(success_time, ?),
              next_check_at = CASE WHEN ? THEN NULL ELSE next_check_at END
        WHERE out_refund_no = ?`,
      [
        u.status,
        u.wechatStatus,
        u.refundId,
        now,
        u.releaseHold,
        now,
        u.reversedPoints,
        u.successTime,
        u.releaseHold,
        u.outRefundNo,
      ],
    );
  }
}

/** Refunds under way whose next step is due (the sweep): processing and abnormal ones. */
export async function selectDueRefunds(db: Queryable, now: Date, limit: number): Promise<RefundRow[]> {
  const [rows] = await db.query<Row[]>(
    `(SELECT ${COLUMNS}, id FROM payment_refunds WHERE status = 'processing' AND next_check_at <= ?)
     UNION ALL
     (SELECT ${COLUMNS}, id FROM payment_refunds WHERE status = 'abnormal' AND next_check_at <= ?)
     ORDER BY next_check_at, id LIMIT ?`,
    [now, now, limit],
  );
  return rows.map(toRefund);
}

/**
 * The bookkeeping of one call to WeChat about a refund (order API and sweep alike); the status
 * itself is the ledger's to move, except `rejected`, which WeChat's refusal of the create decides
 * before any money moved.
 */
export function refundTracker(db: Queryable) {
  return {
    async answered(outRefundNo: string, refundId: string, at: Date, nextCheckAt: Date): Promise<void> {
      await db.query(
        `UPDATE payment_refunds SET refund_id = COALESCE(refund_id, ?), submitted_at = COALESCE(submitted_at, ?),
           last_checked_at = ?, check_attempts = check_attempts + 1, next_check_at = ?, last_error = NULL
         WHERE out_refund_no = ?`,
        [refundId, at, at, nextCheckAt, outRefundNo],
      );
    },
    async retryLater(outRefundNo: string, error: string, at: Date, nextCheckAt: Date): Promise<void> {
      await db.query(
        `UPDATE payment_refunds SET last_checked_at = ?, check_attempts = check_attempts + 1,
           next_check_at = ?, last_error = ?
         WHERE out_refund_no = ?`,
        [at, nextCheckAt, error.slice(0, 255), outRefundNo],
      );
    },
    /** Never sent again, hold released. Only a refund WeChat never accepted can be rejected. */
    async rejected(outRefundNo: string, code: string, at: Date): Promise<void> {
      await db.query<ResultSetHeader>(
        `UPDATE payment_refunds SET status = 'rejected', failure_code = ?,
           hold_released_at = COALESCE(hold_released_at, ?), last_checked_at = ?, next_check_at = NULL
         WHERE out_refund_no = ? AND status = 'processing' AND submitted_at IS NULL`,
        [code.slice(0, 64), at, at, outRefundNo],
      );
    },
  };
}

/** Orders' totals, for refund creates (WeChat wants the order's total beside the refund). */
export async function orderTotals(
  db: Queryable,
  outTradeNos: readonly string[],
): Promise<Map<string, number>> {
  if (outTradeNos.length === 0) return new Map();
  const [rows] = await db.query<Row[]>(
    'SELECT out_trade_no, amount_total FROM payment_orders WHERE out_trade_no IN (?)',
    [outTradeNos],
  );
  return new Map(rows.map((r) => [r.out_trade_no as string, Number(r.amount_total)]));
}

/** Fen of refunds under way (processing, abnormal) per order, for the orders given. */
export async function refundsUnderWay(
  db: Queryable,
  outTradeNos: readonly string[],
): Promise<Map<string, number>> {
  if (outTradeNos.length === 0) return new Map();
  const [rows] = await db.query<Row[]>(
    `SELECT out_trade_no, SUM(amount_fen) AS fen FROM payment_refunds
      WHERE out_trade_no IN (?) AND status IN ('processing', 'abnormal') GROUP BY out_trade_no`,
    [outTradeNos],
  );
  return new Map(rows.map((r) => [r.out_trade_no as string, Number(r.fen)]));
}
