import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool, RowDataPacket } from '@paysync/db';
import { StoreFailedError } from './errors.ts';

/** One row of an order's observation journal (what the ledger applied and what it did). */
export type JournalEntry = {
  id: number;
  observationId: string;
  outTradeNo: string;
  source: string;
  tradeState: string;
  transactionId: string | null;
  amountTotal: number | null;
  observedAt: Date;
  outcome: string;
  statusBefore: string;
  statusAfter: string;
  detail: string | null;
  recordedAt: Date;
  /** The observation exactly as applied (snake_case wire form). */
  payload: unknown;
};

type Row = RowDataPacket & {
  id: number | string;
  observation_id: string;
  out_trade_no: string;
  source: string;
  trade_state: string;
  transaction_id: string | null;
  amount_total: number | string | null;
  observed_at: Date;
  outcome: string;
  status_before: string;
  status_after: string;
  detail: string | null;
  recorded_at: Date;
  payload: unknown;
};

const COLUMNS = `id, observation_id, out_trade_no, source, trade_state, transaction_id, amount_total, observed_at,
  outcome, status_before, status_after, detail, recorded_at, payload`;

function toEntry(r: Row): JournalEntry {
  return {
    id: Number(r.id),
    observationId: r.observation_id,
    outTradeNo: r.out_trade_no,
    source: r.source,
    tradeState: r.trade_state,
    transactionId: r.transaction_id,
    amountTotal: r.amount_total === null ? null : Number(r.amount_total),
    observedAt: r.observed_at,
    outcome: r.outcome,
    statusBefore: r.status_before,
    statusAfter: r.status_after,
    detail: r.detail,
    recordedAt: r.recorded_at,
    payload: typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload,
  };
}

/** An order's journal, oldest first (at most `limit`, the newest ones). */
export async function orderJournal(pool: Pool, outTradeNo: string, limit = 200): Promise<JournalEntry[]> {
  try {
    const [rows] = await pool.query<Row[]>(
      `SELECT ${COLUMNS} FROM order_observations WHERE out_trade_no = ? ORDER BY id DESC LIMIT ?`,
      [outTradeNo, limit],
    );
    return rows.map(toEntry).reverse();
  } catch (err) {
    throw new StoreFailedError('journal read', { cause: err });
  }
}

/** The journal rows of the given observations that the ledger has applied so far. */
export async function journalEntries(pool: Pool, observationIds: readonly string[]): Promise<JournalEntry[]> {
  if (observationIds.length === 0) return [];
  try {
    const [rows] = await pool.query<Row[]>(
      `SELECT ${COLUMNS} FROM order_observations WHERE observation_id IN (?) ORDER BY id`,
      [observationIds],
    );
    return rows.map(toEntry);
  } catch (err) {
    throw new StoreFailedError('journal read', { cause: err });
  }
}

/** Waits (polling) until the ledger journaled every observation or the time is up; returns what it found. */
export async function waitForJournal(
  pool: Pool,
  observationIds: readonly string[],
  opts: { timeoutMs: number; intervalMs?: number },
): Promise<{ entries: JournalEntry[]; complete: boolean }> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const entries = await journalEntries(pool, observationIds);
    const complete = entries.length >= new Set(observationIds).size;
    if (complete || Date.now() >= deadline) return { entries, complete };
    await sleep(opts.intervalMs ?? 200);
  }
}
