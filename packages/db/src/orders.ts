import type { Pool, RowDataPacket } from 'mysql2/promise';

/**
 * The reconciler's page query: pending orders whose next check is due, oldest due first.
 * It is served by idx_payment_orders_status_next_check (status, next_check_at), so a page costs
 * the same whatever the table's size.
 */
export const DUE_PENDING_ORDERS_SQL = `SELECT out_trade_no, next_check_at, check_attempts, time_expire, created_at
  FROM payment_orders
  WHERE status = 'pending' AND next_check_at <= ?
  ORDER BY next_check_at, id
  LIMIT ?`;

export const DUE_PENDING_ORDERS_INDEX = 'idx_payment_orders_status_next_check';

export type DueOrder = {
  outTradeNo: string;
  nextCheckAt: Date;
  checkAttempts: number;
  timeExpire: Date;
  createdAt: Date;
};

type DueRow = RowDataPacket & {
  out_trade_no: string;
  next_check_at: Date;
  check_attempts: number;
  time_expire: Date;
  created_at: Date;
};

export async function selectDuePendingOrders(pool: Pool, now: Date, limit: number): Promise<DueOrder[]> {
  const [rows] = await pool.query<DueRow[]>(DUE_PENDING_ORDERS_SQL, [now, limit]);
  return rows.map((r) => ({
    outTradeNo: r.out_trade_no,
    nextCheckAt: r.next_check_at,
    checkAttempts: r.check_attempts,
    timeExpire: r.time_expire,
    createdAt: r.created_at,
  }));
}
