import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { RowDataPacket } from '@paysync/db';
import type { RefundApi } from '@paysync/orders';
import { AdaptiveRateLimiter, countDueOrders, shardOf, type WeChatOrders } from '@paysync/reconcile';
import { createReconcilerWorld, type ReconcilerWorld, TEST_POLICY } from '../world.ts';

let world: ReconcilerWorld;
beforeAll(async () => {
  world = await createReconcilerWorld('rec_concurrency', { ledger: false });
});
afterAll(async () => {
  await world?.close();
});
beforeEach(async () => {
  await world.reset();
});

/** The real client, recording which order each query was for. */
function recordingClient(queried: string[]): WeChatOrders & RefundApi {
  return {
    createRefund: (input, mchid) => world.client.createRefund(input, mchid),
    queryRefund: (no, mchid) => world.client.queryRefund(no, mchid),
    queryOrder: (no, mchid) => {
      queried.push(no);
      return world.client.queryOrder(no, mchid);
    },
    closeOrder: (no, mchid) => world.client.closeOrder(no, mchid),
  };
}

// The next check is minutes away, so "one window" is the whole test.
const ONE_WINDOW = {
  ...TEST_POLICY,
  backoff: { ...TEST_POLICY.backoff, stepsMs: [600_000], thenEveryMs: 600_000 },
};

function queryCounts(queried: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const no of queried) counts.set(no, (counts.get(no) ?? 0) + 1);
  return counts;
}

describe('two sweeps started together', () => {
  it('with the advisory lock: one sweeps, the other sees the lock and exits 0, and no order is queried twice', async () => {
    const orders = await world.createOrders(120);
    const queried: string[] = [];
    const wechat = recordingClient(queried);
    const [a, b] = await Promise.all([
      world.sweep({ policy: ONE_WINDOW }, { wechat }),
      world.sweep({ policy: ONE_WINDOW }, { wechat }),
    ]);
    // One of them finds the lock held (or, on a very slow machine, starts after the other finished
    // and finds nothing due): either way one run did all the work.
    const statuses = [a.report.status, b.report.status].sort();
    expect(statuses[0]).toBe('ok');
    expect([a.report.checked, b.report.checked].sort((x, y) => x - y)).toEqual([0, orders.length]);
    if (statuses[1] !== 'skipped_locked') expect(statuses[1]).toBe('ok');
    expect(a.exitCode).toBe(0);
    expect(b.exitCode).toBe(0);
    const counts = queryCounts(queried);
    expect(counts.size).toBe(orders.length);
    expect(Math.max(...counts.values())).toBe(1);
  });

  it('without the lock, the page claims alone keep them from querying any order twice', async () => {
    const orders = await world.createOrders(200);
    const queried: string[] = [];
    const wechat = recordingClient(queried);
    const run = () =>
      world.sweep(
        { policy: ONE_WINDOW, useLock: false, pageSize: 10, concurrency: 4 },
        { wechat, pacer: new AdaptiveRateLimiter({ qps: 400 }) },
      );
    const [a, b] = await Promise.all([run(), run()]);
    expect(a.report.status).toBe('ok');
    expect(b.report.status).toBe('ok');
    expect(a.report.checked).toBeGreaterThan(0);
    expect(b.report.checked).toBeGreaterThan(0);
    expect(a.report.checked + b.report.checked).toBe(orders.length);
    const counts = queryCounts(queried);
    expect(counts.size).toBe(orders.length);
    expect(Math.max(...counts.values())).toBe(1);
    // And the sandbox saw exactly one query per order.
    const byStatus =
      world.sandbox.counters().requests['GET /v3/pay/transactions/out-trade-no/:out_trade_no'] ?? {};
    expect(Object.values(byStatus).reduce((s, n) => s + n, 0)).toBe(orders.length);
  });

  // Three shards started together, twenty times over: in every round, every due order is queried by
  // exactly its own shard, once, in that same round. A claim that locked rows beyond its own page
  // once made a concurrent shard skip some of its orders until its next run.
  it('shards split the orders between runs by CRC32(out_trade_no), each under its own lock, 20 rounds', async () => {
    for (let round = 1; round <= 20; round++) {
      const orders = await world.createOrders(90);
      const queried: string[][] = [[], [], []];
      const runs = await Promise.all(
        [0, 1, 2].map((index) =>
          world.sweep(
            { policy: ONE_WINDOW, shard: { index, count: 3 } },
            { wechat: recordingClient(queried[index]!) },
          ),
        ),
      );
      expect({ round, statuses: runs.map((r) => r.report.status) }).toEqual({
        round,
        statuses: ['ok', 'ok', 'ok'],
      });
      for (const index of [0, 1, 2]) {
        const expected = orders.filter((o) => shardOf(o.outTradeNo, 3) === index).map((o) => o.outTradeNo);
        expect({ round, index, queried: [...queried[index]!].sort() }).toEqual({
          round,
          index,
          queried: expected.sort(),
        });
        expect(runs[index]!.report.shard).toBe(`${index}-of-3`);
      }
    }
  });

  it('two sweeps of the same shard: the lock keeps one out, and the other checks every order of the shard', async () => {
    const orders = await world.createOrders(90);
    const shard = { index: 1, count: 3 };
    const mine = orders.filter((o) => shardOf(o.outTradeNo, 3) === 1).map((o) => o.outTradeNo);
    const queried: string[] = [];
    const wechat = recordingClient(queried);
    const [a, b] = await Promise.all([
      world.sweep({ policy: ONE_WINDOW, shard }, { wechat }),
      world.sweep({ policy: ONE_WINDOW, shard }, { wechat }),
    ]);
    // The second either found the lock held or (a very slow start) found nothing left due.
    const statuses = [a.report.status, b.report.status].sort();
    expect(statuses[0]).toBe('ok');
    if (statuses[1] !== 'skipped_locked') expect(statuses[1]).toBe('ok');
    expect([a.report.checked, b.report.checked].sort((x, y) => x - y)).toEqual([0, mine.length]);
    expect([...queried].sort()).toEqual([...mine].sort());
    // Nothing of the shard was claimed and left waiting for the next run: every order of it was
    // checked once in this one, and the other shards' orders were not touched.
    const [rows] = await world.pool.query<RowDataPacket[]>(
      'SELECT out_trade_no, check_attempts FROM payment_orders WHERE out_trade_no IN (?)',
      [orders.map((o) => o.outTradeNo)],
    );
    for (const r of rows) {
      expect({ no: r.out_trade_no, attempts: Number(r.check_attempts) }).toEqual({
        no: r.out_trade_no,
        attempts: mine.includes(r.out_trade_no) ? 1 : 0,
      });
    }
    expect(await countDueOrders(world.pool, new Date(), shard)).toBe(0);
  });
});

describe('stopping early', () => {
  it('stops at the time budget, gives the unchecked orders back and reports the backlog (exit 0)', async () => {
    const orders = await world.createOrders(100);
    const result = await world.sweep(
      { policy: ONE_WINDOW, budgetMs: 1500, pageSize: 20, concurrency: 2 },
      { pacer: new AdaptiveRateLimiter({ qps: 40 }) },
    );
    expect(result.report.status).toBe('budget_exhausted');
    expect(result.exitCode).toBe(0);
    expect(result.report.checked).toBeGreaterThan(0);
    expect(result.report.checked).toBeLessThan(orders.length);
    expect(result.report.remainingDue).toBe(orders.length - result.report.checked);
    expect(await countDueOrders(world.pool, new Date())).toBe(orders.length - result.report.checked);
    const [rows] = await world.pool.query<RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM payment_orders WHERE check_attempts = 1',
    );
    expect(Number(rows[0]!.n)).toBe(result.report.checked);
  });

  it('on SIGTERM finishes what is in flight, releases the rest and exits non-zero', async () => {
    const orders = await world.createOrders(60);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const result = await world.sweep(
      { policy: ONE_WINDOW, pageSize: 20, concurrency: 2 },
      { pacer: new AdaptiveRateLimiter({ qps: 40 }), signal: controller.signal },
    );
    expect(result.report.status).toBe('interrupted');
    expect(result.exitCode).toBe(1);
    expect(result.report.remainingDue).toBe(orders.length - result.report.checked);
    expect(await countDueOrders(world.pool, new Date())).toBe(orders.length - result.report.checked);
  });
});
