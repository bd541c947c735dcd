import type { OrderStatus } from '@paysync/contracts';
import type { Pool } from '@paysync/db';
import { guarded, ORDER_COLUMNS, type OrderRow, type SyncOrder, toSyncOrder } from './store.ts';

/** Orders by out_trade_no (any status), in the order asked; unknown ones are missing from the map. */
export async function loadOrders(
  pool: Pool,
  outTradeNos: readonly string[],
): Promise<Map<string, SyncOrder>> {
  const found = new Map<string, SyncOrder>();
  if (outTradeNos.length === 0) return found;
  return guarded('order lookup', async () => {
    for (let i = 0; i < outTradeNos.length; i += 1000) {
      const [rows] = await pool.query<OrderRow[]>(
        `SELECT ${ORDER_COLUMNS} FROM payment_orders WHERE out_trade_no IN (?)`,
        [outTradeNos.slice(i, i + 1000)],
      );
      for (const r of rows) found.set(r.out_trade_no, toSyncOrder(r));
    }
    return found;
  });
}

/** Where a range selection continues: after this order (created_at, id). */
export type RangeCursor = { createdAt: Date; id: number };

/**
 * A page of orders in one status created in [from, to), after `after`: keyset pages in
 * (created_at, id) order — the order of idx_payment_orders_status_created (InnoDB appends the
 * primary key) — so each page is a short index range scan from the cursor, however large the range.
 */
export async function selectOrdersCreatedBetween(
  pool: Pool,
  opts: {
    status: OrderStatus;
    from: Date;
    to: Date;
    after?: RangeCursor | undefined;
    limit: number;
  },
): Promise<SyncOrder[]> {
  return guarded('order range selection', async () => {
    const after = opts.after;
    const [rows] = await pool.query<OrderRow[]>(
      `SELECT ${ORDER_COLUMNS} FROM payment_orders FORCE INDEX (idx_payment_orders_status_created)
        WHERE status = ? AND created_at >= ? AND created_at < ?${after ? ' AND (created_at > ? OR (created_at = ? AND id > ?))' : ''}
        ORDER BY created_at, id LIMIT ?`,
      [
        opts.status,
        after && after.createdAt > opts.from ? after.createdAt : opts.from,
        opts.to,
        ...(after ? [after.createdAt, after.createdAt, after.id] : []),
        opts.limit,
      ],
    );
    return rows.map(toSyncOrder);
  });
}
