import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createPool, migrateUp, type Pool, type RowDataPacket } from '@paysync/db';
import { createIsolatedDatabase, type IsolatedDatabase } from '@paysync/testkit';
import {
  CLAIM_LOCK_SQL,
  claimDueOrders,
  completeAudit,
  countDueOrders,
  dueOrdersSql,
  insertAudit,
  loadOrders,
  ReasonRequiredError,
  releaseClaims,
  selectOrdersCreatedBetween,
  shardOf,
  tryAdvisoryLock,
  writeSchedules,
} from '../../src/index.ts';

let db: IsolatedDatabase;
let pool: Pool;

beforeAll(async () => {
  db = await createIsolatedDatabase('reconcile_store');
  pool = createPool({ url: db.url, connectionLimit: 6 });
  await migrateUp(pool);
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});
beforeEach(async () => {
  await pool.query('DELETE FROM payment_orders');
  await pool.query('DELETE FROM operator_audit_log');
});

const now = new Date('2026-03-01T12:00:00.000Z');
const at = (offsetMs: number) => new Date(now.getTime() + offsetMs);

async function seed(
  n: number,
  o: { status?: string; tag?: string; nextCheckAt?: (i: number) => Date; createdAt?: Date } = {},
) {
  const rows = Array.from({ length: n }, (_, i) => [
    `RCSTORE${String(i).padStart(6, '0')}${o.tag ?? 'p'}`,
    `user-${i % 7}`,
    '1900009191',
    'wxd678efh567hg6787',
    'NATIVE',
    'points recharge',
    1000,
    1000,
    o.status ?? 'pending',
    o.status === 'paid' ? `4200${String(i).padStart(10, '0')}` : null,
    at(3_600_000),
    o.nextCheckAt ? o.nextCheckAt(i) : at(-60_000 + i),
    o.createdAt ?? at(-120_000),
  ]);
  await pool.query(
    `INSERT INTO payment_orders (out_trade_no, user_id, mchid, appid, trade_type, description, amount_total, points,
       status, transaction_id, time_expire, next_check_at, created_at) VALUES ?`,
    [rows],
  );
  return rows.map((r) => r[0] as string);
}

describe('claiming due orders', () => {
  it('claims the oldest due pending orders and moves them out of the due window', async () => {
    await seed(10);
    await seed(3, { status: 'paid', tag: 'x' });
    await seed(4, { tag: 'f', nextCheckAt: () => at(60_000) }); // not due yet
    const page = await claimDueOrders(pool, { cutoff: now, limit: 4, claimUntil: at(600_000) });
    expect(page.orders.map((o) => o.outTradeNo)).toEqual([
      'RCSTORE000000p',
      'RCSTORE000001p',
      'RCSTORE000002p',
      'RCSTORE000003p',
    ]);
    expect(page.orders[0]).toMatchObject({ status: 'pending', amountTotal: 1000, checkAttempts: 0 });
    const again = await claimDueOrders(pool, { cutoff: now, limit: 100, claimUntil: at(600_000) });
    expect(again.orders).toHaveLength(6);
    expect(await countDueOrders(pool, now)).toBe(0);
  });

  it('never hands one order to two claimers at the same time', async () => {
    await seed(300);
    const claimer = async () => {
      const mine: string[] = [];
      for (;;) {
        const page = await claimDueOrders(pool, { cutoff: now, limit: 25, claimUntil: at(600_000) });
        mine.push(...page.orders.map((o) => o.outTradeNo));
        if (page.exhausted) return mine;
      }
    };
    const claimed = await Promise.all(Array.from({ length: 6 }, claimer));
    const all = claimed.flat();
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBe(300);
    expect(claimed.filter((c) => c.length > 0).length).toBeGreaterThan(1);
  });

  it('keeps each shard to the orders MySQL’s CRC32 assigns it, the same as shardOf', async () => {
    const names = await seed(200);
    const claimed = await claimDueOrders(pool, {
      cutoff: now,
      limit: 500,
      claimUntil: at(600_000),
      shard: { index: 1, count: 3 },
    });
    const expected = names.filter((n) => shardOf(n, 3) === 1).sort();
    expect(claimed.orders.map((o) => o.outTradeNo).sort()).toEqual(expected);
  });

  // A claim's locking read once went through the (status, next_check_at) index — the optimizer's
  // choice as soon as a page holds ~30 ids and most pending orders are not due, the usual state —
  // and locked every due order of every shard until commit: a concurrent shard's SKIP LOCKED then
  // silently skipped its own orders until its next run. Held open here, so it is deterministic.
  it('locks only its own candidates: a concurrent claim of another shard still gets every due order', async () => {
    const names = await seed(300, { nextCheckAt: (i) => (i % 5 === 0 ? at(-60_000 + i) : at(3_600_000)) });
    const two = (index: number) => ({ index, count: 2 });
    const [candidates] = await pool.query<RowDataPacket[]>(dueOrdersSql(two(0)), [now, 2, 0, 500]);
    expect(candidates.length).toBeGreaterThan(20);
    const holder = await pool.getConnection();
    try {
      await holder.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
      await holder.beginTransaction();
      const ids = candidates.map((r) => r.id);
      const [held] = await holder.query<RowDataPacket[]>(CLAIM_LOCK_SQL, [ids, now]);
      expect(held).toHaveLength(ids.length);
      const other = await claimDueOrders(pool, {
        cutoff: now,
        limit: 500,
        claimUntil: at(600_000),
        shard: two(1),
      });
      const expected = names.filter((n, i) => i % 5 === 0 && shardOf(n, 2) === 1).sort();
      expect(expected.length).toBeGreaterThan(20);
      expect(other.orders.map((o) => o.outTradeNo).sort()).toEqual(expected);
    } finally {
      await holder.rollback();
      holder.release();
    }
  });

  it('reads its candidates by primary key whatever the page size', async () => {
    await seed(300);
    const [ids] = await pool.query<RowDataPacket[]>('SELECT id FROM payment_orders ORDER BY id');
    for (const n of [10, 60, 150, 300]) {
      const [plan] = await pool.query<RowDataPacket[]>(`EXPLAIN ${CLAIM_LOCK_SQL}`, [
        ids.slice(0, n).map((r) => r.id),
        now,
      ]);
      expect(plan[0]).toMatchObject({ key: 'PRIMARY', type: 'range' });
    }
  });

  // Scheduling writes run while other shards claim: they must not lock (or wait on) rows that are
  // not theirs. With every row scanned, this one would wait on the held row and time out.
  it('writes schedules and releases claims without touching rows of other orders', async () => {
    const names = await seed(300);
    const mine = names.filter((n) => shardOf(n, 2) === 0);
    const busy = names.find((n) => shardOf(n, 2) === 1)!;
    const impatient = createPool({ url: db.url, connectionLimit: 2, lockWaitTimeoutSeconds: 1 });
    const holder = await pool.getConnection();
    try {
      await holder.beginTransaction();
      await holder.query('SELECT id FROM payment_orders WHERE out_trade_no = ? FOR UPDATE', [busy]);
      await writeSchedules(
        impatient,
        mine.map((outTradeNo) => ({
          outTradeNo,
          status: 'pending' as const,
          nextCheckAt: at(60_000),
          counted: true,
          checkedAt: now,
          wechatState: 'NOTPAY',
        })),
      );
      expect(
        await releaseClaims(
          impatient,
          mine.map((outTradeNo) => ({ outTradeNo, status: 'pending' as const, nextCheckAt: at(-1) })),
        ),
      ).toBe(mine.length);
    } finally {
      await holder.rollback();
      holder.release();
      await impatient.end();
    }
  });

  it('gives released orders their old next check back', async () => {
    await seed(5);
    const page = await claimDueOrders(pool, { cutoff: now, limit: 5, claimUntil: at(600_000) });
    expect(await releaseClaims(pool, page.orders.slice(0, 2))).toBe(2);
    expect(await countDueOrders(pool, now)).toBe(2);
    const [rows] = await pool.query<RowDataPacket[]>(
      'SELECT next_check_at FROM payment_orders WHERE out_trade_no = ?',
      [page.orders[0]!.outTradeNo],
    );
    expect(rows[0]!.next_check_at).toEqual(page.orders[0]!.nextCheckAt);
  });

  it('selects pages through the (status, next_check_at) index', async () => {
    await seed(50);
    const [plan] = await pool.query<RowDataPacket[]>(`EXPLAIN ${dueOrdersSql()}`, [now, 10]);
    expect(plan[0]!.key).toBe('idx_payment_orders_status_next_check');
  });
});

describe('scheduling', () => {
  it('writes next check, attempts, last check and WeChat state of orders whose status did not change meanwhile', async () => {
    const [a, b] = await seed(2);
    // b was checked while pending; the ledger has expired it since: its own schedule stands.
    await pool.query("UPDATE payment_orders SET status = 'expired' WHERE out_trade_no = ?", [b]);
    await writeSchedules(pool, [
      {
        outTradeNo: a!,
        status: 'pending',
        nextCheckAt: at(120_000),
        counted: true,
        checkedAt: now,
        wechatState: 'NOTPAY',
      },
      {
        outTradeNo: b!,
        status: 'pending',
        nextCheckAt: at(120_000),
        counted: true,
        checkedAt: now,
        wechatState: 'CLOSED',
      },
    ]);
    const orders = await loadOrders(pool, [a!, b!]);
    expect(orders.get(a!)).toMatchObject({
      nextCheckAt: at(120_000),
      checkAttempts: 1,
      lastCheckedAt: now,
      lastWechatState: 'NOTPAY',
    });
    expect(orders.get(b!)).toMatchObject({ checkAttempts: 0, lastWechatState: null });
  });

  it('an error retry moves only the next check', async () => {
    const [a] = await seed(1);
    await writeSchedules(pool, [
      {
        outTradeNo: a!,
        status: 'pending',
        nextCheckAt: at(60_000),
        counted: false,
        checkedAt: now,
        wechatState: undefined,
      },
    ]);
    expect((await loadOrders(pool, [a!])).get(a!)).toMatchObject({
      nextCheckAt: at(60_000),
      checkAttempts: 0,
      lastCheckedAt: null,
    });
  });

  it('selects orders by status and creation time for a repair, page after page', async () => {
    await seed(5, { createdAt: at(-10 * 60_000) });
    await seed(3, { tag: 'y', createdAt: at(-9.5 * 60_000) });
    await seed(2, { tag: 'z', createdAt: at(-20 * 60_000) }); // outside the range
    const range = { status: 'pending' as const, from: at(-11 * 60_000), to: at(-9 * 60_000) };
    const first = await selectOrdersCreatedBetween(pool, { ...range, limit: 4 });
    const last = first.at(-1)!;
    const second = await selectOrdersCreatedBetween(pool, {
      ...range,
      after: { createdAt: last.createdAt, id: last.id },
      limit: 4,
    });
    expect(first).toHaveLength(4);
    expect(second).toHaveLength(4);
    const all = [...first, ...second].map((o) => o.outTradeNo);
    expect(new Set(all).size).toBe(8);
    expect(all.some((n) => n.endsWith('z'))).toBe(false);
    const [plan] = await pool.query<RowDataPacket[]>(
      `EXPLAIN SELECT id FROM payment_orders WHERE status = 'pending' AND created_at >= ? AND created_at < ? ORDER BY created_at, id LIMIT 10`,
      [range.from, range.to],
    );
    expect(plan[0]!.key).toBe('idx_payment_orders_status_created');
  });
});

describe('advisory lock', () => {
  it('is held by one holder at a time and free again once released', async () => {
    const first = await tryAdvisoryLock(pool, 'paysync_test_lock');
    const second = await tryAdvisoryLock(pool, 'paysync_test_lock');
    expect(first.acquired).toBe(true);
    expect(second.acquired).toBe(false);
    await first.release();
    const third = await tryAdvisoryLock(pool, 'paysync_test_lock');
    expect(third.acquired).toBe(true);
    await third.release();
    await second.release();
  });
});

describe('audit log', () => {
  it('records who, why, before and after', async () => {
    const id = await insertAudit(pool, {
      actor: 'alice',
      tool: 'payctl',
      action: 'sync',
      reason: 'INC-42 missing payment',
      dryRun: false,
      outTradeNo: 'RCSTORE000000p',
      before: { status: 'pending' },
      correlationId: 'run-1',
    });
    await completeAudit(pool, id, { status: 'paid' });
    const [rows] = await pool.query<RowDataPacket[]>('SELECT * FROM operator_audit_log WHERE id = ?', [id]);
    const row = rows[0]!;
    expect(row).toMatchObject({
      actor: 'alice',
      tool: 'payctl',
      action: 'sync',
      dry_run: 0,
      correlation_id: 'run-1',
    });
    const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
    expect(json(row.before_state)).toEqual({ status: 'pending' });
    expect(json(row.after_state)).toEqual({ status: 'paid' });
  });

  it('refuses a change without a reason', async () => {
    await expect(
      insertAudit(pool, { actor: 'alice', tool: 'payctl', action: 'sync', reason: ' ', dryRun: false }),
    ).rejects.toBeInstanceOf(ReasonRequiredError);
  });
});
