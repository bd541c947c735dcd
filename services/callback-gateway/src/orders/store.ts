import { isDuplicateKeyError, type Pool, type RowDataPacket } from '@paysync/db';

/** A payment order as the gateway reads it. The gateway inserts orders and never changes them. */
export type StoredOrder = {
  outTradeNo: string;
  merchantOrderNo: string | null;
  userId: string;
  mchid: string;
  appid: string;
  tradeType: string;
  description: string;
  amountTotal: number;
  currency: string;
  points: number;
  bonusPoints: number;
  status: string;
  transactionId: string | null;
  timeExpire: Date;
  successTime: Date | null;
  settledAt: Date | null;
  createdAt: Date;
};

export type NewOrder = Omit<
  StoredOrder,
  'status' | 'transactionId' | 'successTime' | 'settledAt' | 'createdAt'
> & {
  nextCheckAt: Date;
  createdAt: Date;
};

type OrderRow = RowDataPacket & {
  out_trade_no: string;
  merchant_order_no: string | null;
  user_id: string;
  mchid: string;
  appid: string;
  trade_type: string;
  description: string;
  amount_total: number;
  currency: string;
  points: number;
  bonus_points: number;
  status: string;
  transaction_id: string | null;
  time_expire: Date;
  success_time: Date | null;
  settled_at: Date | null;
  created_at: Date;
};

const COLUMNS = `out_trade_no, merchant_order_no, user_id, mchid, appid, trade_type, description, amount_total,
  currency, points, bonus_points, status, transaction_id, time_expire, success_time, settled_at, created_at`;

function fromRow(r: OrderRow): StoredOrder {
  return {
    outTradeNo: r.out_trade_no,
    merchantOrderNo: r.merchant_order_no,
    userId: r.user_id,
    mchid: r.mchid,
    appid: r.appid,
    tradeType: r.trade_type,
    description: r.description,
    amountTotal: Number(r.amount_total),
    currency: r.currency,
    points: Number(r.points),
    bonusPoints: Number(r.bonus_points),
    status: r.status,
    transactionId: r.transaction_id,
    timeExpire: r.time_expire,
    successTime: r.success_time,
    settledAt: r.settled_at,
    createdAt: r.created_at,
  };
}

export type InsertOutcome = 'inserted' | 'duplicate_merchant_order_no' | 'duplicate_out_trade_no';

/** Inserts a pending order with its first check scheduled. A unique key refusal is an outcome, not an error. */
export async function insertPendingOrder(pool: Pool, o: NewOrder): Promise<InsertOutcome> {
  try {
    await pool.query(
      `INSERT INTO payment_orders (out_trade_no, merchant_order_no, user_id, mchid, appid, trade_type, description,
         amount_total, currency, points, bonus_points, status, time_expire, next_check_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)`,
      [
        o.outTradeNo,
        o.merchantOrderNo,
        o.userId,
        o.mchid,
        o.appid,
        o.tradeType,
        o.description,
        o.amountTotal,
        o.currency,
        o.points,
        o.bonusPoints,
        o.timeExpire,
        o.nextCheckAt,
        o.createdAt,
      ],
    );
    return 'inserted';
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
    const message = String((err as Error).message);
    return message.includes('merchant_order_no') ? 'duplicate_merchant_order_no' : 'duplicate_out_trade_no';
  }
}

export async function findByMerchantOrderNo(
  pool: Pool,
  merchantOrderNo: string,
): Promise<StoredOrder | undefined> {
  const [rows] = await pool.query<OrderRow[]>(
    `SELECT ${COLUMNS} FROM payment_orders WHERE merchant_order_no = ?`,
    [merchantOrderNo],
  );
  return rows[0] ? fromRow(rows[0]) : undefined;
}

export async function findByOutTradeNo(pool: Pool, outTradeNo: string): Promise<StoredOrder | undefined> {
  const [rows] = await pool.query<OrderRow[]>(
    `SELECT ${COLUMNS} FROM payment_orders WHERE out_trade_no = ?`,
    [outTradeNo],
  );
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/** The order as the API shows it (snake_case, like the rest of the wire). */
export function orderView(o: StoredOrder) {
  return {
    out_trade_no: o.outTradeNo,
    merchant_order_no: o.merchantOrderNo,
    user_id: o.userId,
    status: o.status,
    trade_type: o.tradeType,
    description: o.description,
    amount_fen: o.amountTotal,
    currency: o.currency,
    points: o.points,
    bonus_points: o.bonusPoints,
    transaction_id: o.transactionId,
    time_expire: o.timeExpire.toISOString(),
    success_time: o.successTime?.toISOString() ?? null,
    settled_at: o.settledAt?.toISOString() ?? null,
    created_at: o.createdAt.toISOString(),
  };
}

export type OrderView = ReturnType<typeof orderView>;
