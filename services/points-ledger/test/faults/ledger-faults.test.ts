import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { PaymentObservation } from '@paysync/contracts';
import { createComponentAccount, insertRefund, type RowDataPacket } from '@paysync/db';
import { checkInvariants, eventually, infraCommand, testEnv } from '@paysync/testkit';
import { Supervised } from '../ledger-process.ts';
import {
  APPID,
  createLedgerWorld,
  type LedgerWorld,
  MCHID,
  observation,
  refundObservation,
  type SeedOrder,
} from '../world.ts';

// Fault tests: the ledger runs as real processes (src/main.ts) against the real MariaDB and Kafka,
// and is killed, rebalanced, and cut off from its database and broker while a stream of
// observations flows. Each test ends with the shared DESIGN.md invariant checker.

const worlds: LedgerWorld[] = [];
const processes: Supervised[] = [];

afterEach(async () => {
  for (const p of processes.splice(0)) await p.stop('SIGKILL').catch(() => {});
  for (const w of worlds.splice(0)) await w.close().catch(() => {});
});

async function setup(name: string, orderCount: number) {
  const world = await createLedgerWorld(name, 6);
  worlds.push(world);
  const orders: SeedOrder[] = [];
  for (let i = 0; i < orderCount; i++)
    orders.push(await world.seedOrder({ userId: `user-${name}-${i % 97}` }));
  const refunded = new Set(orders.filter((_, i) => i % 10 === 0).map((o) => o.outTradeNo));
  // Half of the refunds were made here (the order API accepted them and holds their points), half in
  // the merchant platform (learnt from WeChat only): a kill between a hold and its reversal must
  // leave neither a second reversal nor a hold behind.
  for (const [i, o] of orders.filter((x) => refunded.has(x.outTradeNo)).entries()) {
    if (i % 2 !== 0) continue;
    await insertRefund(world.pool, {
      outRefundNo: `RF${o.outTradeNo}`.slice(0, 32),
      outTradeNo: o.outTradeNo,
      merchantRefundNo: null,
      mchid: MCHID,
      userId: o.userId,
      amountFen: 500,
      reason: null,
      origin: 'api',
      requestedBy: null,
      holdPoints: 550,
      nextCheckAt: new Date(Date.now() + 3_600_000),
    });
  }
  // Orders WeChat reports paid with another amount: never settled, one review each, however often
  // the payment is seen and wherever the ledger is killed (a chunk applied again must not count twice).
  const mismatched: SeedOrder[] = [];
  for (let i = 0; i < Math.ceil(orderCount / 50); i++)
    mismatched.push(await world.seedOrder({ userId: `user-${name}-mismatch-${i}` }));
  const stream: PaymentObservation[] = [];
  for (const [i, o] of orders.entries()) {
    const m = i % 50 === 0 ? mismatched[i / 50] : undefined;
    if (m) {
      const wrong = observation(m, { amount: { total: m.amountTotal + 1, currency: 'CNY' } });
      stream.push(wrong, wrong, { ...wrong, observationId: randomUUID(), source: 'query' });
    }
    const paid = observation(o);
    stream.push(paid, paid, observation(o, { source: 'query' })); // a redelivery and a second producer
    if (refunded.has(o.outTradeNo)) stream.push(refundObservation(o, `RF${o.outTradeNo}`.slice(0, 32), 500));
  }
  const env = {
    MYSQL_URL: world.db.url,
    KAFKA_BROKERS: testEnv().kafkaBrokers.join(','),
    KAFKA_TOPIC_PREFIX: world.prefix,
    LEDGER_GROUP_ID: world.groupId,
    LEDGER_SESSION_TIMEOUT_MS: '6000',
    LEDGER_LOCK_WAIT_TIMEOUT_S: '2',
    LEDGER_BATCH_SIZE: '100',
    ...(await world.evidenceEnv()),
  };
  return { world, orders, refunded, mismatched, stream, env };
}

/** Publishes the stream in small chunks over time, retrying through broker outages. */
async function publishSlowly(
  world: LedgerWorld,
  stream: PaymentObservation[],
  chunk: number,
  intervalMs: number,
) {
  for (let i = 0; i < stream.length; i += chunk) {
    const part = stream.slice(i, i + chunk);
    const deadline = Date.now() + 120_000;
    for (;;) {
      try {
        await world.observe(...part);
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

async function journalCount(world: LedgerWorld): Promise<number> {
  for (;;) {
    try {
      const [[row]] = await world.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM order_observations');
      return Number(row?.n);
    } catch {
      await new Promise((r) => setTimeout(r, 500)); // the database may be restarting
    }
  }
}

/** Starts a supervised ledger, streams the observations at it, and returns once it is well under way. */
async function streamThroughLedger(
  world: LedgerWorld,
  stream: PaymentObservation[],
  env: Record<string, string>,
) {
  const ledger = new Supervised('ledger', env);
  processes.push(ledger);
  await ledger.start();
  const publishing = publishSlowly(world, stream, 20, 40);
  await eventually('ledger progress', async () => ((await journalCount(world)) > 200 ? true : undefined), {
    timeoutMs: 60_000,
  });
  return { ledger, publishing };
}

async function expectSettledExactlyOnce(
  world: LedgerWorld,
  orders: SeedOrder[],
  refunded: Set<string>,
  mismatched: SeedOrder[],
) {
  await world.waitUntilConsumed(240_000);
  const report = await checkInvariants(world.pool, {
    paidAtWeChat: orders.map((o) => ({
      outTradeNo: o.outTradeNo,
      transactionId: observation(o).transactionId as string,
      amountTotal: o.amountTotal,
      mchid: MCHID,
      appid: APPID,
    })),
    paidAtWeChatIsComplete: true,
    refundsAtWeChat: orders
      .filter((o) => refunded.has(o.outTradeNo))
      .map((o) => ({ outTradeNo: o.outTradeNo, outRefundNo: `RF${o.outTradeNo}`.slice(0, 32), amount: 500 })),
  });
  expect(report.violations).toEqual([]);
  expect(report.checked.paidAtWeChat).toBe(orders.length);
  const [rows] = await world.pool.query<RowDataPacket[]>(
    `SELECT o.out_trade_no, o.status,
            SUM(t.entry_type = 'recharge') AS recharges, SUM(t.entry_type = 'refund_reversal') AS reversals
       FROM payment_orders o JOIN point_transactions t ON t.out_trade_no = o.out_trade_no
      GROUP BY o.out_trade_no, o.status`,
  );
  expect(rows).toHaveLength(orders.length);
  for (const r of rows) {
    const wasRefunded = refunded.has(String(r.out_trade_no));
    expect([r.out_trade_no, r.status, Number(r.recharges), Number(r.reversals)]).toEqual([
      r.out_trade_no,
      wasRefunded ? 'refunded' : 'paid',
      1,
      wasRefunded ? 1 : 0,
    ]);
  }
  // Every refund, made here or at WeChat, ended succeeded with its points reversed once and no hold.
  const [refunds] = await world.pool.query<RowDataPacket[]>(
    'SELECT origin, status, hold_released_at IS NOT NULL AS released, reversed_points FROM payment_refunds',
  );
  expect(refunds).toHaveLength(refunded.size);
  expect(new Set(refunds.map((r) => `${r.status}/${r.released}/${r.reversed_points}`))).toEqual(
    new Set(['succeeded/1/550']),
  );
  expect(refunds.filter((r) => r.origin === 'api')).toHaveLength(Math.ceil(refunded.size / 2));
  const [[sum]] = await world.pool.query<RowDataPacket[]>('SELECT SUM(balance) AS total FROM point_accounts');
  expect(Number(sum?.total)).toBe(orders.length * 1100 - refunded.size * 550);
  // Each mismatched payment: still pending, one open review, seen twice (the notification and the
  // query; the redelivery is the same observation), whatever the faults did.
  const [reviews] = await world.pool.query<RowDataPacket[]>(
    `SELECT r.out_trade_no, r.kind, r.seen_count, r.observed_fen, r.resolved_at IS NULL AS open, o.status
       FROM payment_reviews r JOIN payment_orders o ON o.out_trade_no = r.out_trade_no`,
  );
  expect(
    reviews
      .map((r) => [r.out_trade_no, r.kind, Number(r.seen_count), Number(r.observed_fen), r.open, r.status])
      .sort(),
  ).toEqual(mismatched.map((m) => [m.outTradeNo, 'mismatch', 2, m.amountTotal + 1, 1, 'pending']).sort());
}

describe('points-ledger under faults', () => {
  it('settles 5,000 observations exactly once while the ledger is SIGKILLed 10 times mid-batch', async () => {
    const { world, orders, refunded, mismatched, stream, env } = await setup('kill', 1650);
    expect(stream.length).toBeGreaterThanOrEqual(5000);
    const ledger = new Supervised('ledger', env);
    processes.push(ledger);
    await ledger.start();
    const publishing = publishSlowly(world, stream, 25, 60);
    let last = 0;
    for (let kill = 1; kill <= 10; kill++) {
      // Kill only while it is working: the journal has grown since the previous kill.
      const progressed = await eventually(
        `ledger progress before kill ${kill}`,
        async () => {
          const n = await journalCount(world);
          return n > last + 50 ? n : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 50 },
      );
      last = progressed;
      await ledger.kill();
      process.stderr.write(`  kill ${kill}: journal had ${progressed} rows\n`);
    }
    expect(ledger.restarts).toBe(10);
    await publishing;
    await expectSettledExactlyOnce(world, orders, refunded, mismatched);
  }, 600_000);

  it.each([
    ['the Kafka broker', 'kafka'],
    ['MariaDB', 'mariadb'],
  ])(
    'loses nothing when %s restarts during the stream',
    async (_name, server) => {
      const { world, orders, refunded, mismatched, stream, env } = await setup(server, 500);
      const { publishing } = await streamThroughLedger(world, stream, env);
      await infraCommand('down', server);
      await new Promise((r) => setTimeout(r, 2000));
      await infraCommand('up');
      await publishing;
      await expectSettledExactlyOnce(world, orders, refunded, mismatched);
    },
    600_000,
  );

  // A database that is there but refuses writes for a while — read-only after a failover, a grant
  // revoked, a column not migrated yet — is not a bad observation: the ledger waits on the offset
  // and dead-letters nothing.
  it.each([
    ['the primary is read-only for a while', 'SET GLOBAL read_only = ON', 'SET GLOBAL read_only = OFF'],
    [
      'the ledger loses its UPDATE grant on payment_orders for a while',
      'REVOKE UPDATE ON `{db}`.payment_orders FROM {user}',
      'GRANT UPDATE ON `{db}`.payment_orders TO {user}',
    ],
    [
      'a column the ledger writes is missing until the migration runs',
      'ALTER TABLE order_observations RENAME COLUMN alerts TO alerts_not_yet',
      'ALTER TABLE order_observations RENAME COLUMN alerts_not_yet TO alerts',
    ],
  ])(
    'dead-letters nothing when %s',
    async (_name, breakSql, healSql) => {
      const { world, orders, refunded, mismatched, stream, env } = await setup('dbstate', 400);
      // The ledger's own, least-privileged account (ALL PRIVILEGES would also bypass read_only),
      // with the grants of @paysync/db.
      const account = await createComponentAccount(world.db.url, 'ledger');
      const user = `'${account.account.user}'@'${account.account.host}'`;
      const db = world.db.name;
      const sql = (text: string) => text.replaceAll('{db}', db).replaceAll('{user}', user);
      const admin = await world.pool.getConnection();
      try {
        await admin.query('SET SESSION lock_wait_timeout = 30');
        const { ledger, publishing } = await streamThroughLedger(world, stream, {
          ...env,
          MYSQL_URL: account.url,
        });
        await admin.query(sql(breakSql));
        try {
          await new Promise((r) => setTimeout(r, 8000));
        } finally {
          await admin.query(sql(healSql));
        }
        await publishing;
        await expectSettledExactlyOnce(world, orders, refunded, mismatched);
        expect(world.outputs.deadLetters).toEqual([]);
        expect(ledger.restarts).toBe(0);
      } finally {
        await admin.query('SET GLOBAL read_only = OFF').catch(() => {});
        admin.release();
        await account.drop();
      }
    },
    600_000,
  );

  // An operator's open `SELECT … FOR UPDATE` on one order: that order waits, nothing else does.
  it('keeps settling every other order, its own partition included, while one order row is locked for 40 s', async () => {
    const { world, orders, refunded, mismatched, stream, env } = await setup('lockheld', 300);
    const victim = orders[7] as SeedOrder;
    const holder = await world.pool.getConnection();
    const { ledger, publishing } = await (async () => {
      await holder.beginTransaction();
      await holder.query('SELECT id FROM payment_orders WHERE out_trade_no = ? FOR UPDATE', [
        victim.outTradeNo,
      ]);
      return streamThroughLedger(world, stream, env);
    })();
    try {
      await publishing;
      const others = orders.filter((o) => o !== victim).map((o) => o.outTradeNo);
      await eventually(
        'every other order to settle while the lock is held',
        async () => {
          const [[row]] = await world.pool.query<RowDataPacket[]>(
            "SELECT COUNT(*) AS n FROM payment_orders WHERE status IN ('paid', 'refunded') AND out_trade_no IN (?)",
            [others],
          );
          return Number(row?.n) === others.length ? true : undefined;
        },
        { timeoutMs: 40_000, intervalMs: 500 },
      );
      const [[mine]] = await world.pool.query<RowDataPacket[]>(
        'SELECT status FROM payment_orders WHERE out_trade_no = ?',
        [victim.outTradeNo],
      );
      expect(mine?.status).toBe('pending');
      // Hold it well past the consumer's session (6 s here): the member must stay in its group.
      await new Promise((r) => setTimeout(r, 15_000));
    } finally {
      await holder.rollback();
      holder.release();
    }
    await expectSettledExactlyOnce(world, orders, refunded, mismatched);
    expect(world.outputs.deadLetters).toEqual([]);
    expect(ledger.restarts).toBe(0);
    const rebalances =
      ledger.current?.lines.filter((l) => /rebalanc|not a member|REBALANCE_IN_PROGRESS/i.test(l)) ?? [];
    expect(rebalances).toEqual([]);
  }, 600_000);

  it('settles once with two ledger processes in one group through rebalances', async () => {
    const { world, orders, refunded, mismatched, stream, env } = await setup('rebalance', 500);
    const a = new Supervised('ledger-a', env);
    const b = new Supervised('ledger-b', env);
    processes.push(a, b);
    await Promise.all([a.start(), b.start()]);
    const publishing = publishSlowly(world, stream, 20, 40);
    await eventually('ledger progress', async () => ((await journalCount(world)) > 300 ? true : undefined), {
      timeoutMs: 60_000,
    });
    const c = new Supervised('ledger-c', env);
    processes.push(c);
    await c.start(); // a third member joins: rebalance
    await eventually('more progress', async () => ((await journalCount(world)) > 800 ? true : undefined), {
      timeoutMs: 60_000,
    });
    expect(await a.stop('SIGTERM')).toBe(0); // graceful leave: rebalance, offsets committed
    await publishing;
    await expectSettledExactlyOnce(world, orders, refunded, mismatched);
  }, 600_000);
});
