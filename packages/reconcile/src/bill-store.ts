import type { OrderStatus } from '@paysync/contracts';
import type { Pool, ResultSetHeader, RowDataPacket } from '@paysync/db';
import {
  type BillBooks,
  type BookedOrder,
  type Difference,
  type DifferenceClass,
  packOrder,
  type Severity,
} from './bill-diff.ts';
import type { PaidOrderSet } from './bill-paid-set.ts';
import { ReconcileError } from './errors.ts';
import { guarded } from './store.ts';

/** 15 minutes: about 10,000 rows a window at a million payments a day. */
const WINDOW_MS = 15 * 60_000;
const WINDOWS_AT_ONCE = 3;

/** Room for a window's packed orders (~25 bytes each); the session's value, not the server's. */
const GROUP_CONCAT_MAX = 256 * 1024 * 1024;

/**
 * The orders of one window, `out_trade_no amount_total[r]` joined by commas (an out_trade_no is
 * [A-Za-z0-9_-|*], never a space or a comma; `r`: refunded), added to the set in batches; returns
 * how many, or -1 if the text is not that.
 */
function addPacked(text: string, into: PaidOrderSet): number {
  const starts = new Int32Array(PACKED_BATCH);
  const ends = new Int32Array(PACKED_BATCH);
  const values = new Float64Array(PACKED_BATCH);
  let n = 0;
  let added = 0;
  for (let at = 0; at < text.length; ) {
    const comma = text.indexOf(',', at);
    const end = comma === -1 ? text.length : comma;
    const space = text.indexOf(' ', at);
    if (space <= at || space >= end) return -1;
    let amount = 0;
    let i = space + 1;
    for (; i < end; i++) {
      const d = text.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      amount = amount * 10 + d;
    }
    const refunded = i === end - 1 && text.charCodeAt(i) === 0x72;
    if (i === space + 1 || (i !== end && !refunded)) return -1;
    starts[n] = at;
    ends[n] = space;
    values[n] = packOrder(amount, refunded);
    n += 1;
    if (n === PACKED_BATCH) {
      into.setMany(text, starts, ends, values, n);
      added += n;
      n = 0;
    }
    at = end + 1;
  }
  into.setMany(text, starts, ends, values, n);
  return added + n;
}

const PACKED_BATCH = 256;

/** The books as the bill diff reads them (orders and the ledger's refund reversals). */
export function billBooks(pool: Pool): BillBooks {
  return {
    orders: (nos) =>
      guarded('bill order lookup', async () => {
        const found = new Map<string, BookedOrder>();
        if (nos.length === 0) return found;
        const [rows] = await pool.query<RowDataPacket[]>(
          'SELECT out_trade_no, status, amount_total FROM payment_orders WHERE out_trade_no IN (?)',
          [nos],
        );
        for (const r of rows)
          found.set(r.out_trade_no, {
            outTradeNo: r.out_trade_no,
            status: r.status as OrderStatus,
            amountTotal: Number(r.amount_total),
          });
        return found;
      }),
    reversals: (nos) =>
      guarded('bill reversal lookup', async () => {
        const [rows] = await pool.query<RowDataPacket[]>(
          `SELECT reference_no FROM point_transactions
            WHERE out_trade_no IN (?) AND entry_type = 'refund_reversal'`,
          [nos],
        );
        return new Set(rows.map((r) => r.reference_no as string));
      }),
    paidBetween: (mchid, start, end, into) =>
      guarded('bill paid orders', async () => {
        let count = 0;
        await inWindows(start, end, async (from, to) => {
          // One packed string per window (`no amount[r],…`), not a row, an array and three strings
          // per order: a day can hold a million, and what the driver builds the collector must sweep.
          const conn = await pool.getConnection();
          try {
            await conn.query(`SET SESSION group_concat_max_len = ${GROUP_CONCAT_MAX}`);
            const [rows] = await conn.query<RowDataPacket[]>({
              sql: `SELECT GROUP_CONCAT(out_trade_no, ' ', amount_total, IF(status = 'refunded', 'r', '')) AS packed,
                           COUNT(*) AS n
                      FROM payment_orders
                     WHERE success_time >= ? AND success_time < ? AND mchid = ? AND status IN ('paid', 'refunded')`,
              values: [from, to, mchid],
              rowsAsArray: true,
            });
            const [packed, n] = rows[0] as [string | Buffer | null, number | string];
            const added = addPacked(packed === null ? '' : String(packed), into);
            if (added !== Number(n))
              // Never a partial day: a short read would report paid orders as missing at WeChat.
              throw new Error(
                `read ${added} of the ${n} orders paid between ${from.toISOString()} and ${to.toISOString()}`,
              );
            count += added;
          } finally {
            conn.release();
          }
        });
        return count;
      }),
    reversalsBetween: (mchid, start, end, visit) =>
      guarded('bill reversals', () =>
        inWindows(start, end, async (from, to) => {
          const [rows] = await pool.query<RowDataPacket[]>(
            `SELECT t.out_trade_no, t.reference_no, t.created_at
               FROM point_transactions t JOIN payment_orders o ON o.out_trade_no = t.out_trade_no
              WHERE t.entry_type = 'refund_reversal' AND t.created_at >= ? AND t.created_at < ? AND o.mchid = ?`,
            [from, to, mchid],
          );
          visit(
            rows.map((r) => ({
              outTradeNo: r.out_trade_no,
              outRefundNo: r.reference_no,
              createdAt: r.created_at as Date,
            })),
          );
        }),
      ),
  };
}

/**
 * A day read in time windows, each one index range scan (success_time / (entry_type, created_at)):
 * memory stays bounded by a few windows' rows, and no page re-reads or sorts what came before it.
 * Up to three windows are read at once (the pool's connections): on a busy server a day's ~100
 * round trips otherwise dominate the time. The first failure stops the rest.
 */
async function inWindows(
  start: Date,
  end: Date,
  read: (from: Date, to: Date) => Promise<void>,
): Promise<void> {
  const windows: number[] = [];
  for (let from = start.getTime(); from < end.getTime(); from += WINDOW_MS) windows.push(from);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < windows.length) {
      const from = windows[next++] as number;
      try {
        await read(new Date(from), new Date(Math.min(from + WINDOW_MS, end.getTime())));
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(WINDOWS_AT_ONCE, windows.length) }, worker));
}

export type BillRunStatus = 'running' | 'succeeded' | 'statement_creating' | 'no_statement' | 'failed';

export interface BillRunRecord {
  id: number;
  mchid: string;
  billDate: string;
  billType: string;
  status: BillRunStatus;
  attempts: number;
  errorCode: string | null;
  errorDetail: string | null;
  fileSha1: string | null;
  fileSize: number | null;
  fileLocation: string | null;
  archivePath: string | null;
  rows: number | null;
  paymentRows: number | null;
  refundRows: number | null;
  revokedRows: number | null;
  settlementTotal: number | null;
  refundTotal: number | null;
  feeTotal: number | null;
  orderTotal: number | null;
  differences: number | null;
  criticalDifferences: number | null;
  startedAt: Date;
  finishedAt: Date | null;
}

export interface DifferenceRecord extends Difference {
  id: number;
  mchid: string;
  billDate: string;
  actionStatus: 'pending' | 'done' | 'failed' | 'none';
  actionResult: string | null;
  status: 'open' | 'held' | 'resolved';
  resolution: string | null;
  resolvedBy: string | null;
  resolvedReason: string | null;
  resolvedAt: Date | null;
  firstSeenAt: Date;
  lastSeenAt: Date;
}

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const day = (v: unknown) => (v instanceof Date ? v.toISOString().slice(0, 10) : String(v).slice(0, 10));
const json = (v: unknown) =>
  typeof v === 'string' ? (JSON.parse(v) as Record<string, unknown>) : (v as Record<string, unknown> | null);

function toRun(r: RowDataPacket): BillRunRecord {
  return {
    id: Number(r.id),
    mchid: r.mchid,
    billDate: day(r.bill_date),
    billType: r.bill_type,
    status: r.status,
    attempts: Number(r.attempts),
    errorCode: r.error_code,
    errorDetail: r.error_detail,
    fileSha1: r.file_sha1,
    fileSize: num(r.file_size),
    fileLocation: r.file_location,
    archivePath: r.archive_path,
    rows: num(r.rows_total),
    paymentRows: num(r.payment_rows),
    refundRows: num(r.refund_rows),
    revokedRows: num(r.revoked_rows),
    settlementTotal: num(r.settlement_total),
    refundTotal: num(r.refund_total),
    feeTotal: num(r.fee_total),
    orderTotal: num(r.order_total),
    differences: num(r.differences),
    criticalDifferences: num(r.critical_differences),
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

function toDifference(r: RowDataPacket): DifferenceRecord {
  return {
    id: Number(r.id),
    mchid: r.mchid,
    billDate: day(r.bill_date),
    class: r.class as DifferenceClass,
    refKey: r.ref_key,
    outTradeNo: r.out_trade_no,
    outRefundNo: r.out_refund_no,
    severity: r.severity as Severity,
    action: r.action,
    actionStatus: r.action_status,
    actionResult: r.action_result,
    ours: json(r.ours),
    theirs: json(r.theirs),
    status: r.status,
    resolution: r.resolution,
    resolvedBy: r.resolved_by,
    resolvedReason: r.resolved_reason,
    resolvedAt: r.resolved_at,
    firstSeenAt: r.first_seen_at,
    lastSeenAt: r.last_seen_at,
  };
}

/** Starts (or restarts) the run of a day: one row per merchant, day and bill type. */
export async function startBillRun(
  pool: Pool,
  key: { mchid: string; billDate: string; billType: string },
  now: Date,
): Promise<number> {
  return guarded('bill run start', async () => {
    await pool.query(
      `INSERT INTO trade_bill_runs (mchid, bill_date, bill_type, status, attempts, started_at)
       VALUES (?, ?, ?, 'running', 1, ?)
       ON DUPLICATE KEY UPDATE status = 'running', attempts = attempts + 1, started_at = VALUES(started_at),
         finished_at = NULL, error_code = NULL, error_detail = NULL`,
      [key.mchid, key.billDate, key.billType, now],
    );
    const [rows] = await pool.query<RowDataPacket[]>(
      'SELECT id FROM trade_bill_runs WHERE mchid = ? AND bill_date = ? AND bill_type = ?',
      [key.mchid, key.billDate, key.billType],
    );
    return Number(rows[0]?.id);
  });
}

export type BillRunUpdate = Partial<
  Omit<BillRunRecord, 'id' | 'mchid' | 'billDate' | 'billType' | 'attempts' | 'startedAt'>
>;

const RUN_COLUMNS: Record<keyof BillRunUpdate, string> = {
  status: 'status',
  errorCode: 'error_code',
  errorDetail: 'error_detail',
  fileSha1: 'file_sha1',
  fileSize: 'file_size',
  fileLocation: 'file_location',
  archivePath: 'archive_path',
  rows: 'rows_total',
  paymentRows: 'payment_rows',
  refundRows: 'refund_rows',
  revokedRows: 'revoked_rows',
  settlementTotal: 'settlement_total',
  refundTotal: 'refund_total',
  feeTotal: 'fee_total',
  orderTotal: 'order_total',
  differences: 'differences',
  criticalDifferences: 'critical_differences',
  finishedAt: 'finished_at',
};

export async function updateBillRun(pool: Pool, id: number, update: BillRunUpdate): Promise<void> {
  const entries = Object.entries(update).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return;
  await guarded('bill run update', () =>
    pool.query(
      `UPDATE trade_bill_runs SET ${entries.map(([k]) => `${RUN_COLUMNS[k as keyof BillRunUpdate]} = ?`).join(', ')} WHERE id = ?`,
      [...entries.map(([, v]) => v), id],
    ),
  );
}

/**
 * Records the differences of one run of a day. A difference seen before keeps its id, action state
 * and resolution (a re-run never acts twice); one of the day no longer seen is resolved as `cleared`.
 */
export async function recordDifferences(
  pool: Pool,
  key: { mchid: string; billDate: string },
  found: readonly Difference[],
  now: Date,
  options: { clear: boolean },
): Promise<void> {
  await guarded('bill differences', async () => {
    for (let i = 0; i < found.length; i += 500) {
      const page = found.slice(i, i + 500);
      await pool.query(
        `INSERT INTO trade_bill_differences
           (mchid, bill_date, class, ref_key, out_trade_no, out_refund_no, severity, action, action_status,
            ours, theirs, status, first_seen_at, last_seen_at)
         VALUES ?
         ON DUPLICATE KEY UPDATE last_seen_at = VALUES(last_seen_at), ours = VALUES(ours), theirs = VALUES(theirs),
           status = IF(status = 'resolved' AND resolution = 'cleared', VALUES(status), status),
           resolution = IF(status = 'resolved', resolution, NULL)`,
        [
          page.map((d) => [
            key.mchid,
            key.billDate,
            d.class,
            d.refKey,
            d.outTradeNo,
            d.outRefundNo,
            d.severity,
            d.action,
            d.action === 'query_order' || d.action === 'query_refund' ? 'pending' : 'none',
            d.ours === null ? null : JSON.stringify(d.ours),
            d.theirs === null ? null : JSON.stringify(d.theirs),
            d.action === 'hold' ? 'held' : 'open',
            now,
            now,
          ]),
        ],
      );
    }
    if (!options.clear) return;
    await pool.query(
      `UPDATE trade_bill_differences
          SET status = 'resolved', resolution = 'cleared', resolved_by = 'bill-run',
              resolved_reason = 'no longer differs when the day was reconciled again', resolved_at = ?
        WHERE mchid = ? AND bill_date = ? AND status <> 'resolved' AND last_seen_at < ?`,
      [now, key.mchid, key.billDate, now],
    );
  });
}

/** Critical differences of the day nobody resolved yet. */
export async function openCriticalCount(pool: Pool, mchid: string, billDate: string): Promise<number> {
  return guarded('open critical differences', async () => {
    const [rows] = await pool.query<RowDataPacket[]>(
      `SELECT COUNT(*) AS n FROM trade_bill_differences
        WHERE mchid = ? AND bill_date = ? AND severity = 'critical' AND status <> 'resolved'`,
      [mchid, billDate],
    );
    return Number(rows[0]?.n ?? 0);
  });
}

/** Held differences of earlier days (within `holdDays`) that this day's bill may still resolve. */
export async function heldDifferences(
  pool: Pool,
  mchid: string,
  from: string,
  before: string,
): Promise<DifferenceRecord[]> {
  return guarded('held bill differences', async () => {
    const [rows] = await pool.query<RowDataPacket[]>(
      `SELECT * FROM trade_bill_differences
        WHERE mchid = ? AND status = 'held' AND bill_date >= ? AND bill_date < ? ORDER BY id`,
      [mchid, from, before],
    );
    return rows.map(toDifference);
  });
}

/** A held difference whose row a later bill carried: resolved. */
export async function resolveHeld(
  pool: Pool,
  ids: readonly number[],
  billDate: string,
  now: Date,
): Promise<void> {
  if (ids.length === 0) return;
  await guarded('held differences resolved', () =>
    pool.query(
      `UPDATE trade_bill_differences SET status = 'resolved', resolution = 'in_later_bill', resolved_by = 'bill-run',
              resolved_reason = ?, resolved_at = ? WHERE id IN (?) AND status = 'held'`,
      [`found in the bill of ${billDate}`, now, ids],
    ),
  );
}

/** A held difference still absent after the hold: it becomes open with its escalated action and severity. */
export async function escalateHeld(
  pool: Pool,
  escalations: readonly { id: number; action: string; severity: Severity }[],
): Promise<void> {
  await guarded('held differences escalated', async () => {
    for (const e of escalations)
      await pool.query(
        `UPDATE trade_bill_differences SET status = 'open', action = ?, severity = ?,
                action_status = IF(? IN ('query_order', 'query_refund'), 'pending', 'none')
          WHERE id = ? AND status = 'held'`,
        [e.action, e.severity, e.action, e.id],
      );
  });
}

/** Open differences of merchant and day whose action (a query) has not been done. */
export async function pendingActions(
  pool: Pool,
  mchid: string,
  billDate: string,
): Promise<DifferenceRecord[]> {
  return guarded('pending bill actions', async () => {
    const [rows] = await pool.query<RowDataPacket[]>(
      `SELECT * FROM trade_bill_differences
        WHERE mchid = ? AND bill_date <= ? AND status = 'open' AND action_status = 'pending' ORDER BY id`,
      [mchid, billDate],
    );
    return rows.map(toDifference);
  });
}

export async function recordAction(
  pool: Pool,
  id: number,
  status: 'pending' | 'done' | 'failed',
  result: string,
): Promise<void> {
  await guarded('bill action', () =>
    pool.query('UPDATE trade_bill_differences SET action_status = ?, action_result = ? WHERE id = ?', [
      status,
      result.slice(0, 512),
      id,
    ]),
  );
}

export async function billRun(
  pool: Pool,
  key: { mchid?: string; billDate: string; billType?: string },
): Promise<BillRunRecord | undefined> {
  return guarded('bill run lookup', async () => {
    const [rows] = await pool.query<RowDataPacket[]>(
      `SELECT * FROM trade_bill_runs WHERE bill_date = ? AND bill_type = ? ${key.mchid ? 'AND mchid = ?' : ''}
        ORDER BY id LIMIT 1`,
      [key.billDate, key.billType ?? 'ALL', ...(key.mchid ? [key.mchid] : [])],
    );
    return rows[0] ? toRun(rows[0]) : undefined;
  });
}

export async function listBillRuns(pool: Pool, limit: number): Promise<BillRunRecord[]> {
  return guarded('bill run list', async () => {
    const [rows] = await pool.query<RowDataPacket[]>(
      'SELECT * FROM trade_bill_runs ORDER BY bill_date DESC, id DESC LIMIT ?',
      [limit],
    );
    return rows.map(toRun);
  });
}

export async function billDifferences(
  pool: Pool,
  filter: { mchid: string; billDate: string } | { openOnly: true; limit: number },
): Promise<DifferenceRecord[]> {
  return guarded('bill differences lookup', async () => {
    const [rows] =
      'billDate' in filter
        ? await pool.query<RowDataPacket[]>(
            'SELECT * FROM trade_bill_differences WHERE mchid = ? AND bill_date = ? ORDER BY id',
            [filter.mchid, filter.billDate],
          )
        : await pool.query<RowDataPacket[]>(
            `SELECT * FROM trade_bill_differences WHERE status <> 'resolved' ORDER BY id DESC LIMIT ?`,
            [filter.limit],
          );
    return rows.map(toDifference);
  });
}

/** No such difference, or it was resolved already. */
export class DifferenceNotOpenError extends ReconcileError {
  constructor(id: number, why: string) {
    super('DIFFERENCE_NOT_OPEN', `difference ${id} ${why}`);
  }
}

/** A person closes a difference they handled: who and why are kept. */
export async function resolveDifference(
  pool: Pool,
  id: number,
  by: { actor: string; reason: string },
  now: Date,
): Promise<DifferenceRecord> {
  const { changed, row } = await guarded('difference resolve', async () => {
    const [result] = await pool.query<ResultSetHeader>(
      `UPDATE trade_bill_differences SET status = 'resolved', resolution = 'by_person', resolved_by = ?,
              resolved_reason = ?, resolved_at = ? WHERE id = ? AND status <> 'resolved'`,
      [by.actor.slice(0, 128), by.reason.slice(0, 1024), now, id],
    );
    const [rows] = await pool.query<RowDataPacket[]>('SELECT * FROM trade_bill_differences WHERE id = ?', [
      id,
    ]);
    return { changed: result.affectedRows > 0, row: rows[0] };
  });
  if (!row) throw new DifferenceNotOpenError(id, 'does not exist');
  if (!changed) throw new DifferenceNotOpenError(id, 'is resolved already');
  return toDifference(row);
}

/** Open differences counted by class and severity (the metrics' gauge, computed at scrape/push time). */
export async function openDifferenceCounts(
  pool: Pool,
): Promise<{ class: DifferenceClass; severity: Severity; count: number }[]> {
  return guarded('open difference counts', async () => {
    const [rows] = await pool.query<RowDataPacket[]>(
      `SELECT class, severity, COUNT(*) AS n FROM trade_bill_differences WHERE status <> 'resolved'
        GROUP BY class, severity`,
    );
    return rows.map((r) => ({ class: r.class, severity: r.severity, count: Number(r.n) }));
  });
}
