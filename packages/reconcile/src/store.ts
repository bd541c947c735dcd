import { setTimeout as sleep } from 'node:timers/promises';
import type { OrderStatus } from '@paysync/contracts';
import {
  isRetryableTransactionError,
  type Pool,
  type ResultSetHeader,
  type RowDataPacket,
} from '@paysync/db';
import type { LedgerOrder } from '@paysync/orders';
import { StoreFailedError } from './errors.ts';
import { type Shard, shardPredicate, WHOLE } from './shard.ts';

/** An order as the sync needs it. */
/** An order as the sync sees it: the ledger's order (the one model, @paysync/orders) and its schedule. */
export type SyncOrder = LedgerOrder & {
  id: number;
  createdAt: Date;
  nextCheckAt: Date | null;
  checkAttempts: number;
  lastCheckedAt: Date | null;
  lastWechatState: string | null;
  /** When the order reached its current final status (null while pending). */
  settledAt: Date | null;
};

export const ORDER_COLUMNS = `id, out_trade_no, status, user_id, mchid, appid, amount_total, points, bonus_points,
  refunded_amount, transaction_id, time_expire, created_at, next_check_at, check_attempts, last_checked_at,
  last_wechat_state, settled_at`;

export type OrderRow = RowDataPacket & {
  id: number | string;
  out_trade_no: string;
  status: OrderStatus;
  user_id: string;
  mchid: string;
  appid: string;
  amount_total: number | string;
  points: number | string;
  bonus_points: number | string;
  refunded_amount: number | string;
  transaction_id: string | null;
  time_expire: Date;
  created_at: Date;
  next_check_at: Date | null;
  check_attempts: number;
  last_checked_at: Date | null;
  last_wechat_state: string | null;
  settled_at: Date | null;
};

export function toSyncOrder(r: OrderRow): SyncOrder {
  return {
    id: Number(r.id),
    outTradeNo: r.out_trade_no,
    status: r.status,
    userId: r.user_id,
    mchid: r.mchid,
    appid: r.appid,
    amountTotal: Number(r.amount_total),
    points: Number(r.points),
    bonusPoints: Number(r.bonus_points),
    refundedAmount: Number(r.refunded_amount),
    transactionId: r.transaction_id,
    timeExpire: r.time_expire,
    createdAt: r.created_at,
    nextCheckAt: r.next_check_at,
    checkAttempts: Number(r.check_attempts),
    lastCheckedAt: r.last_checked_at,
    lastWechatState: r.last_wechat_state,
    settledAt: r.settled_at,
  };
}

export async function guarded<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new StoreFailedError(what, { cause: err });
  }
}

/**
 * Multi-row updates can deadlock with the points-ledger's transactions (it locks the orders of a
 * batch in message order); InnoDB then rolls one statement back. The statement is idempotent, so
 * it is simply run again, a few times, after a short jittered pause.
 */
async function retryingLocks<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts || !isRetryableTransactionError(err)) throw err;
      await sleep(10 * attempt + Math.floor(Math.random() * 20));
    }
  }
}

/**
 * The statuses the sweep checks: pending orders until they are final, and orders finalised unpaid a
 * few more times (the ledger schedules them 1 h after, the sync once more 24 h after), so that a
 * payment WeChat took after all is found and settled as a late payment.
 */
export const CHECKED_STATUSES = `('pending', 'expired', 'cancelled', 'failed')`;

/**
 * The page query of the sweep: the ids of pending orders due at `cutoff`, oldest due first,
 * through idx_payment_orders_status_next_check (status, next_check_at), so a page costs the same at
 * any table size. A plain consistent read: it locks nothing, so it never blocks (or skips) rows of
 * another shard or of the gateway.
 */
export function dueOrdersSql(shard: Shard = WHOLE): string {
  return `SELECT id FROM payment_orders FORCE INDEX (idx_payment_orders_status_next_check)
  WHERE status IN ${CHECKED_STATUSES} AND next_check_at <= ?${shardPredicate(shard).sql}
  ORDER BY next_check_at, id
  LIMIT ?`;
}

export type ClaimedPage = {
  orders: SyncOrder[];
  /** No more due orders in this shard after this page (fewer candidates than asked for). */
  exhausted: boolean;
  /** The page query (index range scan). */
  selectMs: number;
  /** The whole claim: page query, row locks, next_check_at update, commit. */
  claimMs: number;
};

/**
 * The claim's locking read: the candidates of one page, locked by primary key only.
 *
 * The hint is what keeps shards (and concurrent runs) from stealing each other's orders. Left to
 * itself the optimizer may read the candidates through idx_payment_orders_status_next_check (every
 * pending, due order of every shard) or, from ~60 ids of a few hundred rows, scan the whole table.
 * InnoDB then locks every row it passes, not only the ids asked for, and keeps those locks until
 * commit; a concurrent claim's `SKIP LOCKED` silently skips its own due orders until its next run.
 * Through the primary key, only the candidates' own rows are ever locked.
 */
export const CLAIM_LOCK_SQL = `SELECT ${ORDER_COLUMNS} FROM payment_orders FORCE INDEX (PRIMARY)
  WHERE id IN (?) AND status IN ${CHECKED_STATUSES} AND next_check_at <= ?
  ORDER BY next_check_at, id
  FOR UPDATE SKIP LOCKED`;

/**
 * Claims a page: finds due orders, then in one transaction locks them by primary key
 * (`CLAIM_LOCK_SQL`: `SKIP LOCKED`, re-checking that they are still pending and due) and moves their
 * next_check_at to `claimUntil`. Another run then neither sees them as due nor can lock them, so no
 * order is queried twice in one window even without the advisory lock. If this process dies, the
 * orders come back at `claimUntil`.
 */
export async function claimDueOrders(
  pool: Pool,
  opts: { cutoff: Date; limit: number; claimUntil: Date; shard?: Shard },
): Promise<ClaimedPage> {
  return guarded('claim of due orders', async () => {
    const shard = opts.shard ?? WHOLE;
    const started = performance.now();
    const [candidates] = await pool.query<(RowDataPacket & { id: number | string })[]>(dueOrdersSql(shard), [
      opts.cutoff,
      ...shardPredicate(shard).params,
      opts.limit,
    ]);
    const selectMs = performance.now() - started;
    const exhausted = candidates.length < opts.limit;
    if (candidates.length === 0) return { orders: [], exhausted, selectMs, claimMs: selectMs };
    const conn = await pool.getConnection();
    try {
      // Record locks only (no gap locks): new orders can be inserted while a page is claimed.
      await conn.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
      await conn.beginTransaction();
      try {
        const [rows] = await conn.query<OrderRow[]>(CLAIM_LOCK_SQL, [
          candidates.map((c) => c.id),
          opts.cutoff,
        ]);
        if (rows.length > 0) {
          await conn.query(
            'UPDATE payment_orders FORCE INDEX (PRIMARY) SET next_check_at = ? WHERE id IN (?)',
            [opts.claimUntil, rows.map((r) => r.id)],
          );
        }
        await conn.commit();
        return { orders: rows.map(toSyncOrder), exhausted, selectMs, claimMs: performance.now() - started };
      } catch (err) {
        await conn.rollback().catch(() => conn.destroy());
        throw err;
      }
    } finally {
      conn.release();
    }
  });
}

function caseOf(keys: readonly string[], values: readonly unknown[], otherwise: string) {
  return {
    sql: `CASE out_trade_no ${keys.map(() => 'WHEN ? THEN ?').join(' ')} ELSE ${otherwise} END`,
    params: keys.flatMap((k, i) => [k, values[i]]),
  };
}

/*
 * The scheduling writes below name their index for the same reason as CLAIM_LOCK_SQL: with a few
 * hundred keys the optimizer prefers a full index scan, and an UPDATE locks every row it scans for
 * the statement's duration (all of them under REPEATABLE READ), long enough for another shard's
 * claim to skip its own orders.
 */

/** Gives claimed orders that were not checked their previous next_check_at back (due again at once). */
export async function releaseClaims(
  pool: Pool,
  orders: readonly Pick<SyncOrder, 'outTradeNo' | 'nextCheckAt' | 'status'>[],
): Promise<number> {
  if (orders.length === 0) return 0;
  return guarded('release of claimed orders', async () => {
    let released = 0;
    for (let i = 0; i < orders.length; i += 500) {
      const chunk = orders.slice(i, i + 500);
      const keys = chunk.map((o) => o.outTradeNo);
      const next = caseOf(
        keys,
        chunk.map((o) => o.nextCheckAt),
        'next_check_at',
      );
      const status = caseOf(
        keys,
        chunk.map((o) => o.status),
        'NULL',
      );
      const [res] = await retryingLocks(() =>
        pool.query<ResultSetHeader>(
          `UPDATE payment_orders FORCE INDEX (uk_payment_orders_out_trade_no)
             SET next_check_at = ${next.sql} WHERE out_trade_no IN (?) AND status = ${status.sql}`,
          [...next.params, keys, ...status.params],
        ),
      );
      released += res.affectedRows;
    }
    return released;
  });
}

/** What a check of one order leaves in its scheduling columns (the only ones the reconciler writes). */
export type ScheduleUpdate = {
  outTradeNo: string;
  /** The status the order had when checked: a schedule is written only while it still has it. */
  status: OrderStatus;
  /** Null: no more checks (an order finalised unpaid, re-checked for the last time). */
  nextCheckAt: Date | null;
  /** A completed check: check_attempts + 1, last_checked_at and last_wechat_state are written. */
  counted: boolean;
  checkedAt: Date;
  wechatState: string | undefined;
};

/**
 * Writes many orders' schedules in one statement. An order whose status changed since it was
 * checked (the ledger applied what the check saw) is left alone: the ledger's schedule stands.
 */
export async function writeSchedules(pool: Pool, updates: readonly ScheduleUpdate[]): Promise<void> {
  if (updates.length === 0) return;
  await guarded('schedule update', async () => {
    const keys = updates.map((u) => u.outTradeNo);
    const next = caseOf(
      keys,
      updates.map((u) => u.nextCheckAt),
      'next_check_at',
    );
    const attempts = caseOf(
      keys,
      updates.map((u) => (u.counted ? 1 : 0)),
      '0',
    );
    const checked = caseOf(
      keys,
      updates.map((u) => (u.counted ? u.checkedAt : null)),
      'NULL',
    );
    const state = caseOf(
      keys,
      updates.map((u) => (u.counted ? (u.wechatState ?? null) : null)),
      'NULL',
    );
    const status = caseOf(
      keys,
      updates.map((u) => u.status),
      'NULL',
    );
    await retryingLocks(() =>
      pool.query(
        `UPDATE payment_orders FORCE INDEX (uk_payment_orders_out_trade_no) SET
           next_check_at = ${next.sql},
           check_attempts = check_attempts + ${attempts.sql},
           last_checked_at = COALESCE(${checked.sql}, last_checked_at),
           last_wechat_state = COALESCE(${state.sql}, last_wechat_state)
         WHERE out_trade_no IN (?) AND status = ${status.sql}`,
        [...next.params, ...attempts.params, ...checked.params, ...state.params, keys, ...status.params],
      ),
    );
  });
}

/** How many orders are due for a check at `cutoff` in a shard, counted up to `cap`. */
export async function countDueOrders(
  pool: Pool,
  cutoff: Date,
  shard: Shard = WHOLE,
  cap = 1_000_000,
): Promise<number> {
  return guarded('count of due orders', async () => {
    const p = shardPredicate(shard);
    const [rows] = await pool.query<(RowDataPacket & { n: number })[]>(
      `SELECT COUNT(*) AS n FROM (SELECT 1 FROM payment_orders FORCE INDEX (idx_payment_orders_status_next_check)
         WHERE status IN ${CHECKED_STATUSES} AND next_check_at <= ?${p.sql} LIMIT ?) due`,
      [cutoff, ...p.params, cap],
    );
    return Number(rows[0]?.n ?? 0);
  });
}
