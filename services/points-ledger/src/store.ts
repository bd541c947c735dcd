import type { OrderStatus, PaymentObservation } from '@paysync/contracts';
import type { PoolConnection, RowDataPacket } from '@paysync/db';
import type { AlertIntent, LedgerEntry, LedgerOrder, Outcome } from '@paysync/orders';

// The ledger's SQL. Each function reads or writes a whole batch in one statement, on the caller's
// connection inside the caller's transaction, so a batch of a hundred observations costs about
// ten round trips rather than a thousand.

export type LockedOrder = LedgerOrder & {
  /** The reconciler's next look at the order (pending, or a re-check after becoming final unpaid). */
  nextCheckAt: Date | null;
  settledVia: string | null;
  settledAt: Date | null;
  successTime: Date | null;
  lastWechatState: string | null;
  updatedAt: Date;
};

type OrderRow = RowDataPacket & {
  out_trade_no: string;
  user_id: string;
  mchid: string;
  appid: string;
  amount_total: number;
  points: number;
  bonus_points: number;
  status: OrderStatus;
  transaction_id: string | null;
  time_expire: Date;
  refunded_amount: number;
  next_check_at: Date | null;
  settled_via: string | null;
  settled_at: Date | null;
  success_time: Date | null;
  last_wechat_state: string | null;
  updated_at: Date;
};

/**
 * Locks the orders' rows (in key order, to keep concurrent batches from deadlocking), through the
 * out_trade_no key only: with a few hundred keys of a small table the optimizer would otherwise scan
 * and lock every row (and, under REPEATABLE READ, every gap) until commit, stalling order creation
 * and making every reconciler claim skip orders it should check.
 */
export async function lockOrders(
  conn: PoolConnection,
  outTradeNos: readonly string[],
): Promise<Map<string, LockedOrder>> {
  const orders = new Map<string, LockedOrder>();
  if (outTradeNos.length === 0) return orders;
  const [rows] = await conn.query<OrderRow[]>(
    `SELECT out_trade_no, user_id, mchid, appid, amount_total, points, bonus_points, status, transaction_id,
            time_expire, refunded_amount, next_check_at, settled_via, settled_at, success_time, last_wechat_state,
            updated_at
       FROM payment_orders FORCE INDEX (uk_payment_orders_out_trade_no)
      WHERE out_trade_no IN (?) ORDER BY out_trade_no FOR UPDATE`,
    [[...outTradeNos].sort()],
  );
  for (const r of rows) {
    orders.set(r.out_trade_no, {
      outTradeNo: r.out_trade_no,
      userId: r.user_id,
      mchid: r.mchid,
      appid: r.appid,
      amountTotal: Number(r.amount_total),
      points: Number(r.points),
      bonusPoints: Number(r.bonus_points),
      status: r.status,
      transactionId: r.transaction_id,
      timeExpire: r.time_expire,
      refundedAmount: Number(r.refunded_amount),
      nextCheckAt: r.next_check_at,
      settledVia: r.settled_via,
      settledAt: r.settled_at,
      successTime: r.success_time,
      lastWechatState: r.last_wechat_state,
      updatedAt: r.updated_at,
    });
  }
  return orders;
}

/** Observations already in the journal, with the alerts each raised (to publish them again). */
export async function journaled(
  conn: PoolConnection,
  ids: readonly string[],
): Promise<Map<string, AlertIntent[]>> {
  const found = new Map<string, AlertIntent[]>();
  if (ids.length === 0) return found;
  const [rows] = await conn.query<(RowDataPacket & { observation_id: string; alerts: unknown })[]>(
    'SELECT observation_id, alerts FROM order_observations WHERE observation_id IN (?)',
    [[...ids]],
  );
  for (const r of rows) {
    const raw = r.alerts;
    const alerts =
      raw === null || raw === undefined
        ? []
        : ((typeof raw === 'string' ? JSON.parse(raw) : raw) as AlertIntent[]);
    found.set(r.observation_id, alerts);
  }
  return found;
}

/** For each order: the status it had before entering each status it has been in, from the journal. */
export async function transitions(
  conn: PoolConnection,
  outTradeNos: readonly string[],
): Promise<Map<string, Map<OrderStatus, OrderStatus>>> {
  const byOrder = new Map<string, Map<OrderStatus, OrderStatus>>();
  if (outTradeNos.length === 0) return byOrder;
  const [rows] = await conn.query<
    (RowDataPacket & { out_trade_no: string; status_before: OrderStatus; status_after: OrderStatus })[]
  >(
    `SELECT out_trade_no, status_before, status_after FROM order_observations
      WHERE out_trade_no IN (?) AND status_before <> status_after ORDER BY id`,
    [[...outTradeNos]],
  );
  for (const r of rows) {
    const m = byOrder.get(r.out_trade_no) ?? new Map<OrderStatus, OrderStatus>();
    if (!m.has(r.status_after)) m.set(r.status_after, r.status_before);
    byOrder.set(r.out_trade_no, m);
  }
  return byOrder;
}

export type WrittenEntry = {
  kind: LedgerEntry['kind'];
  reference: string;
  pointsDelta: number;
  balanceAfter: number;
};

export const entryKey = (kind: string, reference: string): string => `${kind}|${reference}`;

/** The ledger entries the orders have: their keys (for exactly-once) and the latest one. */
export async function existingEntries(
  conn: PoolConnection,
  outTradeNos: readonly string[],
): Promise<Map<string, { keys: Set<string>; last: WrittenEntry | undefined }>> {
  const byOrder = new Map<string, { keys: Set<string>; last: WrittenEntry | undefined }>();
  if (outTradeNos.length === 0) return byOrder;
  const [rows] = await conn.query<
    (RowDataPacket & {
      out_trade_no: string;
      entry_type: LedgerEntry['kind'];
      reference_no: string;
      points_delta: number;
      balance_after: number;
    })[]
  >(
    `SELECT out_trade_no, entry_type, reference_no, points_delta, balance_after
       FROM point_transactions WHERE out_trade_no IN (?) ORDER BY id`,
    [[...outTradeNos]],
  );
  for (const r of rows) {
    const e = byOrder.get(r.out_trade_no) ?? { keys: new Set<string>(), last: undefined };
    e.keys.add(entryKey(r.entry_type, r.reference_no));
    e.last = {
      kind: r.entry_type,
      reference: r.reference_no,
      pointsDelta: Number(r.points_delta),
      balanceAfter: Number(r.balance_after),
    };
    byOrder.set(r.out_trade_no, e);
  }
  return byOrder;
}

export type Account = {
  userId: string;
  balance: number;
  flagged: boolean;
  dirty: boolean;
  /** Locked for this transaction (only those may change); the others were only read. */
  locked: boolean;
};

/**
 * Balances of accounts that nothing in this transaction credits or reverses (for the events of
 * other transitions): a plain read, no row created, no lock taken.
 */
export async function readAccounts(
  conn: PoolConnection,
  userIds: readonly string[],
): Promise<Map<string, Account>> {
  const accounts = new Map<string, Account>();
  if (userIds.length === 0) return accounts;
  const ids = [...new Set(userIds)];
  for (const id of ids)
    accounts.set(id, { userId: id, balance: 0, flagged: false, dirty: false, locked: false });
  const [rows] = await conn.query<AccountRow[]>(
    'SELECT user_id, balance, flagged FROM point_accounts WHERE user_id IN (?)',
    [ids],
  );
  for (const r of rows) accounts.set(r.user_id, accountOf(r, false));
  return accounts;
}

type AccountRow = RowDataPacket & { user_id: string; balance: number; flagged: number };

function accountOf(r: AccountRow, locked: boolean): Account {
  return { userId: r.user_id, balance: Number(r.balance), flagged: r.flagged === 1, dirty: false, locked };
}

/** Creates missing accounts and locks all of them (in key order) for this transaction. */
export async function lockAccounts(
  conn: PoolConnection,
  userIds: readonly string[],
): Promise<Map<string, Account>> {
  const accounts = new Map<string, Account>();
  if (userIds.length === 0) return accounts;
  const sorted = [...new Set(userIds)].sort();
  await conn.query(
    `INSERT INTO point_accounts (user_id, balance) VALUES ${sorted.map(() => '(?, 0)').join(', ')}
     ON DUPLICATE KEY UPDATE user_id = user_id`,
    sorted,
  );
  const [rows] = await conn.query<AccountRow[]>(
    'SELECT user_id, balance, flagged FROM point_accounts WHERE user_id IN (?) ORDER BY user_id FOR UPDATE',
    [sorted],
  );
  for (const r of rows) accounts.set(r.user_id, accountOf(r, true));
  return accounts;
}

export type EntryRow = {
  userId: string;
  outTradeNo: string;
  kind: LedgerEntry['kind'];
  reference: string;
  pointsDelta: number;
  bonusPoints: number;
  balanceAfter: number;
};

export async function insertEntries(conn: PoolConnection, entries: readonly EntryRow[]): Promise<void> {
  if (entries.length === 0) return;
  await conn.query(
    `INSERT INTO point_transactions (user_id, out_trade_no, entry_type, reference_no, points_delta, bonus_points, balance_after)
     VALUES ${entries.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
    entries.flatMap((e) => [
      e.userId,
      e.outTradeNo,
      e.kind,
      e.reference,
      e.pointsDelta,
      e.bonusPoints,
      e.balanceAfter,
    ]),
  );
}

/** Writes the changed accounts' balances (and flags) in one statement. */
export async function saveAccounts(conn: PoolConnection, accounts: readonly Account[]): Promise<void> {
  const dirty = accounts.filter((a) => a.dirty);
  if (dirty.length === 0) return;
  await conn.query(
    `UPDATE point_accounts a JOIN (${dirty.map(() => 'SELECT ? AS user_id, ? AS balance, ? AS flagged').join(' UNION ALL ')}) v
        ON a.user_id = v.user_id
        SET a.balance = v.balance, a.flagged = v.flagged,
            a.flag_reason = IF(v.flagged = 1 AND a.flag_reason IS NULL, 'refund reversal exceeded the balance', a.flag_reason)`,
    dirty.flatMap((a) => [a.userId, a.balance, a.flagged ? 1 : 0]),
  );
}

/** Writes the changed orders' new state in one statement. */
export async function saveOrders(conn: PoolConnection, orders: readonly LockedOrder[]): Promise<void> {
  if (orders.length === 0) return;
  const row =
    'SELECT ? AS no, ? AS status, ? AS tx, ? AS st, ? AS via, ? AS settled_at, ? AS refunded, ? AS lws, ? AS nc';
  await conn.query(
    `UPDATE payment_orders o JOIN (${orders.map(() => row).join(' UNION ALL ')}) v ON o.out_trade_no = v.no
        SET o.status = v.status, o.transaction_id = v.tx, o.success_time = v.st, o.settled_via = v.via,
            o.settled_at = v.settled_at, o.refunded_amount = v.refunded, o.last_wechat_state = v.lws,
            o.next_check_at = v.nc`,
    orders.flatMap((o) => [
      o.outTradeNo,
      o.status,
      o.transactionId,
      o.successTime,
      o.settledVia,
      o.settledAt,
      o.refundedAmount,
      o.lastWechatState,
      o.nextCheckAt,
    ]),
  );
}

export type JournalRow = {
  /** The journal's observation id when it is not the observation's own (a refused message). */
  id?: string;
  obs: PaymentObservation;
  outcome: Outcome;
  statusBefore: OrderStatus;
  statusAfter: OrderStatus;
  detail: string;
  alerts: AlertIntent[];
  partition: number | undefined;
  offset: string | undefined;
};

export async function appendJournal(conn: PoolConnection, rows: readonly JournalRow[]): Promise<void> {
  if (rows.length === 0) return;
  await conn.query(
    `INSERT INTO order_observations
       (observation_id, out_trade_no, source, trade_state, transaction_id, amount_total, observed_at,
        outcome, status_before, status_after, detail, payload, alerts, kafka_partition, kafka_offset)
     VALUES ${rows.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
    rows.flatMap((r) => [
      r.id ?? r.obs.observationId,
      r.obs.outTradeNo,
      r.obs.source,
      r.obs.tradeState,
      r.obs.transactionId ?? null,
      r.obs.amount?.total ?? r.obs.refund?.amount.total ?? null,
      new Date(r.obs.observedAt),
      r.outcome,
      r.statusBefore,
      r.statusAfter,
      r.detail.slice(0, 512),
      JSON.stringify(r.obs),
      r.alerts.length > 0 ? JSON.stringify(r.alerts) : null,
      r.partition ?? null,
      r.offset ?? null,
    ]),
  );
}

/**
 * Records which order each order-less piece of evidence belongs to (first use wins, under the
 * primary key's lock) and returns the owner of every fingerprint asked about.
 */
export async function bindEvidence(
  conn: PoolConnection,
  bindings: readonly { fingerprint: string; outTradeNo: string }[],
): Promise<Map<string, string>> {
  await conn.query('INSERT IGNORE INTO evidence_bindings (fingerprint, out_trade_no) VALUES ?', [
    bindings.map((b) => [b.fingerprint, b.outTradeNo]),
  ]);
  const [rows] = await conn.query(
    'SELECT fingerprint, out_trade_no AS outTradeNo FROM evidence_bindings WHERE fingerprint IN (?)',
    [[...new Set(bindings.map((b) => b.fingerprint))]],
  );
  return new Map(
    (rows as { fingerprint: string; outTradeNo: string }[]).map((r) => [r.fingerprint, r.outTradeNo]),
  );
}
