import type { Pool, ResultSetHeader, RowDataPacket } from '@paysync/db';
import { ReasonRequiredError, StoreFailedError } from './errors.ts';

/** One operator action in operator_audit_log: who, with which tool, why, dry run or not, before and after. */
export type AuditRecord = {
  actor: string;
  tool: string;
  action: string;
  reason: string;
  dryRun: boolean;
  outTradeNo?: string | undefined;
  before?: unknown;
  after?: unknown;
  correlationId?: string | undefined;
};

/** The state of an order that an audit record keeps (no payer data). */
export type OrderSnapshot = {
  status: string;
  transaction_id: string | null;
  amount_total: number;
  time_expire: string;
  last_wechat_state: string | null;
  check_attempts: number;
  next_check_at: string | null;
  settled_via: string | null;
  settled_at: string | null;
};

type SnapshotRow = RowDataPacket & {
  status: string;
  transaction_id: string | null;
  amount_total: number | string;
  time_expire: Date;
  last_wechat_state: string | null;
  check_attempts: number;
  next_check_at: Date | null;
  settled_via: string | null;
  settled_at: Date | null;
};

export async function orderSnapshots(
  pool: Pool,
  outTradeNos: readonly string[],
): Promise<Map<string, OrderSnapshot>> {
  const out = new Map<string, OrderSnapshot>();
  if (outTradeNos.length === 0) return out;
  try {
    const [rows] = await pool.query<(SnapshotRow & { out_trade_no: string })[]>(
      `SELECT out_trade_no, status, transaction_id, amount_total, time_expire, last_wechat_state, check_attempts,
              next_check_at, settled_via, settled_at
         FROM payment_orders WHERE out_trade_no IN (?)`,
      [outTradeNos],
    );
    for (const r of rows) {
      out.set(r.out_trade_no, {
        status: r.status,
        transaction_id: r.transaction_id,
        amount_total: Number(r.amount_total),
        time_expire: r.time_expire.toISOString(),
        last_wechat_state: r.last_wechat_state,
        check_attempts: Number(r.check_attempts),
        next_check_at: r.next_check_at?.toISOString() ?? null,
        settled_via: r.settled_via,
        settled_at: r.settled_at?.toISOString() ?? null,
      });
    }
    return out;
  } catch (err) {
    throw new StoreFailedError('order snapshot', { cause: err });
  }
}

/** Inserts the record before the action, so that no change is ever made without one. Returns its id. */
export async function insertAudit(pool: Pool, record: AuditRecord): Promise<number> {
  if (record.reason.trim() === '') throw new ReasonRequiredError();
  try {
    const [res] = await pool.query<ResultSetHeader>(
      `INSERT INTO operator_audit_log (actor, tool, action, reason, dry_run, out_trade_no, before_state, after_state, correlation_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        record.actor.slice(0, 128),
        record.tool.slice(0, 32),
        record.action.slice(0, 32),
        record.reason.slice(0, 1024),
        record.dryRun ? 1 : 0,
        record.outTradeNo ?? null,
        record.before === undefined ? null : JSON.stringify(record.before),
        record.after === undefined ? null : JSON.stringify(record.after),
        record.correlationId ?? null,
      ],
    );
    return res.insertId;
  } catch (err) {
    throw new StoreFailedError('audit insert', { cause: err });
  }
}

/** Records what the action led to. */
export async function completeAudit(pool: Pool, id: number, after: unknown): Promise<void> {
  try {
    await pool.query('UPDATE operator_audit_log SET after_state = ? WHERE id = ?', [
      JSON.stringify(after),
      id,
    ]);
  } catch (err) {
    throw new StoreFailedError('audit update', { cause: err });
  }
}

/** Writes audit records: a record before each action, completed with what it led to. */
export type AuditWriter = {
  insert(record: AuditRecord): Promise<number>;
  complete(id: number, after: unknown): Promise<void>;
};

/** The audit writer over operator_audit_log. */
export function auditWriter(pool: Pool): AuditWriter {
  return {
    insert: (record) => insertAudit(pool, record),
    complete: (id, after) => completeAudit(pool, id, after),
  };
}
