import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { PaymentObservation } from '@paysync/contracts';
import { createPool, migrateUp, type Pool, type RowDataPacket } from '@paysync/db';
import { createIsolatedDatabase, type IsolatedDatabase } from '@paysync/testkit';
import type { WeChatPayClient } from '@paysync/wechatpay';
import { type Sandbox, startSandbox } from '@paysync/wechatpay-sandbox';
import {
  AdaptiveRateLimiter,
  type AuditRecord,
  type AuditWriter,
  auditWriter,
  loadOrders,
  type RepairDeps,
  type RepairOptions,
  repairOrders,
  replayLastObservation,
  type SyncOrder,
  selectRepairOrders,
} from '../../src/index.ts';
import { newOutTradeNo, prepaidOrder, recordingPublisher, sandboxClient } from '../support.ts';

// The repair and replay flows payctl and the PaymentRepair operator share, against MariaDB and the
// WeChat Pay sandbox. No ledger runs here: `applyAsLedger` records an observation in the journal as
// the points-ledger does (the whole path, ledger included, is tested through payctl and the operator).

let db: IsolatedDatabase;
let pool: Pool;
let sandbox: Sandbox;
let client: WeChatPayClient;

beforeAll(async () => {
  db = await createIsolatedDatabase('reconcile_repair');
  pool = createPool({ url: db.url, connectionLimit: 6 });
  await migrateUp(pool);
  sandbox = await startSandbox({});
  client = await sandboxClient(sandbox);
});
afterAll(async () => {
  await client.close();
  await sandbox.close();
  await pool.end();
  await db.drop();
});
beforeEach(async () => {
  sandbox.resetFaults();
  await pool.query('DELETE FROM operator_audit_log');
  await pool.query('DELETE FROM order_observations');
  await pool.query('DELETE FROM payment_orders');
});

const who = { actor: 'alice', tool: 'payctl', producer: 'payctl', reason: 'INC-42 notify URL was localhost' };

/** Prepays the order at the sandbox and inserts it as the gateway would; returns it as loaded. */
async function order(o: Partial<SyncOrder> & { payableForMs?: number } = {}): Promise<SyncOrder> {
  const prepaid = await prepaidOrder(client, sandbox, o);
  await pool.query(
    `INSERT INTO payment_orders (out_trade_no, user_id, mchid, appid, trade_type, description, amount_total,
       points, status, time_expire, next_check_at) VALUES (?, ?, ?, ?, 'NATIVE', 'points recharge', ?, ?, 'pending', ?, ?)`,
    [
      prepaid.outTradeNo,
      prepaid.userId,
      prepaid.mchid,
      prepaid.appid,
      prepaid.amountTotal,
      prepaid.points,
      prepaid.timeExpire,
      prepaid.timeExpire,
    ],
  );
  return (await loadOrders(pool, [prepaid.outTradeNo])).get(prepaid.outTradeNo)!;
}

/** An order in our database that WeChat cannot be asked about: another merchant's (an error answer). */
async function foreignOrder(): Promise<SyncOrder> {
  const outTradeNo = newOutTradeNo('F');
  await pool.query(
    `INSERT INTO payment_orders (out_trade_no, user_id, mchid, appid, trade_type, description, amount_total,
       points, status, time_expire) VALUES (?, 'user-f', '1900000999', 'wxforeign', 'NATIVE', 'points recharge', 1000, 1000, 'pending', ?)`,
    [outTradeNo, new Date(Date.now() + 3_600_000)],
  );
  return (await loadOrders(pool, [outTradeNo])).get(outTradeNo)!;
}

/** What the points-ledger does with an observation, as far as these flows read it: the journal row and the order. */
async function applyAsLedger(obs: PaymentObservation, statusAfter: string): Promise<void> {
  const [[row]] = await pool.query<RowDataPacket[]>(
    'SELECT status FROM payment_orders WHERE out_trade_no = ?',
    [obs.outTradeNo],
  );
  await pool.query(
    `INSERT INTO order_observations (observation_id, out_trade_no, source, trade_state, transaction_id, amount_total,
       observed_at, outcome, status_before, status_after, payload) VALUES (?, ?, ?, ?, ?, ?, ?, 'applied', ?, ?, ?)`,
    [
      obs.observationId,
      obs.outTradeNo,
      obs.source,
      obs.tradeState,
      obs.transactionId ?? null,
      obs.amount?.total ?? null,
      new Date(obs.observedAt),
      row!.status,
      statusAfter,
      JSON.stringify(obs),
    ],
  );
  await pool.query(
    'UPDATE payment_orders SET status = ?, transaction_id = COALESCE(?, transaction_id) WHERE out_trade_no = ?',
    [statusAfter, obs.transactionId ?? null, obs.outTradeNo],
  );
}

/** The audit writer over the database, also keeping the order of its calls. */
function recordingAudit(): AuditWriter & { calls: string[] } {
  const real = auditWriter(pool);
  const calls: string[] = [];
  return {
    calls,
    insert: async (record: AuditRecord) => {
      calls.push(`insert ${record.outTradeNo}`);
      return real.insert(record);
    },
    complete: async (id, after) => {
      calls.push(`complete ${id}`);
      return real.complete(id, after);
    },
  };
}

const LEDGER_STATUS: Partial<Record<string, string>> = { SUCCESS: 'paid', CLOSED: 'expired' };

/** Records what is published and applies it as the ledger would: SUCCESS pays, CLOSED expires. */
function ledgerPublisher() {
  const publisher = recordingPublisher();
  return {
    ...publisher,
    observations: async (items: readonly PaymentObservation[]) => {
      await publisher.observations(items);
      for (const o of items) await applyAsLedger(o, LEDGER_STATUS[o.tradeState] ?? 'pending');
    },
  };
}

function deps(over: Partial<RepairDeps> & { publisher?: ReturnType<typeof recordingPublisher> } = {}) {
  const publisher = over.publisher ?? recordingPublisher();
  const audit = recordingAudit();
  const progress: string[] = [];
  const d: RepairDeps = {
    pool,
    wechat: client,
    publisher,
    audit,
    pacer: new AdaptiveRateLimiter({ qps: 100 }),
    concurrency: 4,
    ledgerWaitMs: 0,
    onOrder: (o) => progress.push(o.outTradeNo),
    ...over,
  };
  return { d, publisher, audit, progress };
}

const repair = (over: Partial<RepairOptions> = {}): RepairOptions => ({
  ...who,
  action: 'repair',
  dryRun: false,
  closeExpired: true,
  ...over,
});

async function auditRows(): Promise<RowDataPacket[]> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT * FROM operator_audit_log ORDER BY id');
  return rows;
}

describe('selecting the orders of a repair', () => {
  it('takes named orders in the order asked, each once, and names the unknown ones', async () => {
    const a = await order();
    const b = await order();
    const sel = await selectRepairOrders(pool, {
      outTradeNos: [b.outTradeNo, 'RCNOSUCHORDER01', a.outTradeNo, b.outTradeNo],
    });
    expect(sel.orders.map((o) => o.outTradeNo)).toEqual([b.outTradeNo, a.outTradeNo]);
    expect(sel.unknown).toEqual(['RCNOSUCHORDER01']);
  });

  it('takes a status and creation range up to the limit, across pages', async () => {
    const made = [await order(), await order(), await order()];
    await pool.query("UPDATE payment_orders SET status = 'expired' WHERE out_trade_no = ?", [
      made[2]!.outTradeNo,
    ]);
    const range = {
      status: 'pending' as const,
      from: new Date(Date.now() - 60_000),
      to: new Date(Date.now() + 60_000),
    };
    const all = await selectRepairOrders(pool, { ...range, limit: 10 });
    expect(all.orders.map((o) => o.outTradeNo)).toEqual([made[0]!.outTradeNo, made[1]!.outTradeNo]);
    expect((await selectRepairOrders(pool, { ...range, limit: 1 })).orders).toHaveLength(1);
  });
});

describe('repairing orders', () => {
  it('in a dry run asks WeChat and says what would happen, but closes, publishes and writes nothing', async () => {
    const paid = await order();
    sandbox.pay(paid.outTradeNo);
    const expired = await order({ timeExpire: new Date(Date.now() - 60_000) });
    const { d, publisher, audit, progress } = deps();
    const run = await repairOrders(d, [paid, expired], repair({ dryRun: true }));
    expect(run.correlationId).toBeUndefined();
    expect(
      run.repaired.map((r) => [r.order.outTradeNo, r.result.outcome, r.result.prediction?.statusAfter]),
    ).toEqual([
      [paid.outTradeNo, 'paid', 'paid'],
      [expired.outTradeNo, 'closed', 'expired'],
    ]);
    expect(run.repaired.every((r) => r.auditId === undefined && r.after === undefined)).toBe(true);
    expect(progress.sort()).toEqual([paid.outTradeNo, expired.outTradeNo].sort());
    expect(publisher.observed).toEqual([]);
    expect(audit.calls).toEqual([]);
    expect(await auditRows()).toEqual([]);
    expect(sandbox.order(expired.outTradeNo).trade_state).toBe('NOTPAY');
  });

  it('writes an audit record before each order and completes it after, under one correlation id', async () => {
    const paid = await order();
    sandbox.pay(paid.outTradeNo);
    const expired = await order({ timeExpire: new Date(Date.now() - 60_000) });
    const { d, publisher, audit, progress } = deps({ publisher: ledgerPublisher() });
    const run = await repairOrders(d, [paid, expired], repair());
    expect(publisher.observed.length).toBeGreaterThan(0);
    expect(
      publisher.observed.every(
        (o) => o.producer === 'payctl' && o.actor === 'alice' && o.reason === who.reason,
      ),
    ).toBe(true);
    expect(sandbox.order(expired.outTradeNo).trade_state).toBe('CLOSED');
    expect(progress).toHaveLength(2);
    const rows = await auditRows();
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expect(r).toMatchObject({
        tool: 'payctl',
        action: 'repair',
        actor: 'alice',
        reason: who.reason,
        dry_run: 0,
      });
      expect(r.correlation_id).toBe(run.correlationId);
      expect(r.before_state).toMatchObject({ status: 'pending' });
    }
    const byOrder = new Map(rows.map((r) => [r.out_trade_no as string, r]));
    expect(byOrder.get(paid.outTradeNo)?.after_state).toMatchObject({
      order: { status: 'paid' },
      outcome: 'paid',
      ledger: [{ outcome: 'applied', status_before: 'pending', status_after: 'paid' }],
    });
    expect(byOrder.get(expired.outTradeNo)?.after_state).toMatchObject({
      order: { status: 'expired' },
      closed_at_wechat: true,
    });
    // Each record is inserted before its order is synced and completed only once the run is over.
    const firstComplete = audit.calls.findIndex((c) => c.startsWith('complete'));
    expect(audit.calls.slice(0, firstComplete).sort()).toEqual(
      [`insert ${paid.outTradeNo}`, `insert ${expired.outTradeNo}`].sort(),
    );
    expect(audit.calls.slice(firstComplete).every((c) => c.startsWith('complete'))).toBe(true);
    expect(run.repaired.map((r) => [r.after?.status, r.applied])).toEqual([
      ['paid', true],
      ['expired', true],
    ]);
  });

  it('goes on with the other orders when WeChat cannot answer about one', async () => {
    const foreign = await foreignOrder();
    const a = await order();
    const b = await order();
    const { d, publisher, progress } = deps({ concurrency: 1 });
    const run = await repairOrders(d, [foreign, a, b], repair());
    expect(run.repaired.map((r) => [r.order.outTradeNo, r.result.outcome])).toEqual([
      [foreign.outTradeNo, 'error'],
      [a.outTradeNo, 'pending'],
      [b.outTradeNo, 'pending'],
    ]);
    expect(progress).toEqual([foreign.outTradeNo, a.outTradeNo, b.outTradeNo]);
    expect(publisher.observed.map((o) => o.outTradeNo)).toEqual([a.outTradeNo, b.outTradeNo]);
    const rows = await auditRows();
    expect(rows).toHaveLength(3);
    expect(rows.find((r) => r.out_trade_no === foreign.outTradeNo)?.after_state).toMatchObject({
      outcome: 'error',
    });
    expect(run.notSynced).toEqual([]);
  });

  it('stops once WeChat’s breaker is open: the order it met is recorded as aborted, the rest not synced', async () => {
    const breakerClient = await sandboxClient(sandbox, {
      breaker: { volumeThreshold: 1, errorThresholdPercentage: 1, resetTimeoutMs: 60_000 },
    });
    try {
      const orders = [await order(), await order(), await order()];
      sandbox.setFaults({ down: true });
      const { d, progress } = deps({ wechat: breakerClient, concurrency: 1 });
      const run = await repairOrders(d, orders, repair());
      expect(run.breakerOpened).toBe(true);
      expect(run.repaired.map((r) => r.result.outcome)).toEqual(['error']);
      expect(run.notSynced.map((o) => o.outTradeNo)).toEqual([orders[1]!.outTradeNo, orders[2]!.outTradeNo]);
      expect(progress).toHaveLength(2);
      const rows = await auditRows();
      expect(rows.map((r) => r.out_trade_no)).toEqual([orders[0]!.outTradeNo, orders[1]!.outTradeNo]);
      expect(rows[1]!.after_state).toEqual({ outcome: 'aborted', note: 'breaker open: nothing done' });
    } finally {
      await breakerClient.close();
    }
  });

  it('takes no order once its signal is aborted', async () => {
    const orders = [await order(), await order()];
    const stop = new AbortController();
    stop.abort();
    const { d, progress } = deps({ signal: stop.signal });
    const run = await repairOrders(d, orders, repair());
    expect(run.notSynced).toEqual(orders);
    expect(progress).toEqual([]);
    expect(await auditRows()).toEqual([]);
  });
});

describe('replaying the last observation', () => {
  async function journaled(): Promise<{ o: SyncOrder; last: PaymentObservation }> {
    const o = await order();
    sandbox.pay(o.outTradeNo);
    const { d, publisher } = deps({ publisher: ledgerPublisher() });
    await repairOrders(d, [o], repair());
    const last = publisher.observed.at(-1)!;
    await pool.query('DELETE FROM operator_audit_log');
    return { o, last };
  }

  const replayDeps = () => {
    const publisher = recordingPublisher();
    return { publisher, d: { pool, publisher, audit: auditWriter(pool), ledgerWaitMs: 0 } };
  };

  it('finds nothing to replay for an order without a journaled observation', async () => {
    const o = await order();
    const { d, publisher } = replayDeps();
    expect(await replayLastObservation(d, o.outTradeNo, { ...who, mode: 'resend', dryRun: false })).toEqual({
      found: false,
    });
    expect(publisher.observed).toEqual([]);
    expect(await auditRows()).toEqual([]);
  });

  it('in a dry run says what it would publish and publishes and writes nothing', async () => {
    const { o, last } = await journaled();
    const { d, publisher } = replayDeps();
    const r = await replayLastObservation(d, o.outTradeNo, { ...who, mode: 'reapply', dryRun: true });
    expect(r).toMatchObject({ found: true, dryRun: true, original: last, message: { source: 'manual' } });
    expect(publisher.observed).toEqual([]);
    expect(await auditRows()).toEqual([]);
  });

  it('resends the very same observation with an audit record before and after', async () => {
    const { o, last } = await journaled();
    const { d, publisher } = replayDeps();
    const r = await replayLastObservation(d, o.outTradeNo, { ...who, mode: 'resend', dryRun: false });
    expect(publisher.observed).toEqual([last]);
    expect(r).toMatchObject({
      found: true,
      message: last,
      before: { status: 'paid' },
      after: { status: 'paid' },
    });
    const [row] = await auditRows();
    expect(row).toMatchObject({
      id: r.found ? r.auditId : -1,
      action: 'replay',
      tool: 'payctl',
      correlation_id: last.observationId,
      before_state: { status: 'paid' },
      after_state: {
        mode: 'resend',
        observation_id: last.observationId,
        replayed_observation_id: last.observationId,
      },
    });
  });

  it('reapplies a manual copy with a new id, carrying actor and reason, under the correlation id given', async () => {
    const { o, last } = await journaled();
    const { d, publisher } = replayDeps();
    const r = await replayLastObservation(d, o.outTradeNo, {
      ...who,
      producer: 'reconciler-operator',
      tool: 'operator',
      mode: 'reapply',
      dryRun: false,
      correlationId: 'run-1',
    });
    const [sent] = publisher.observed;
    expect(sent).toMatchObject({
      source: 'manual',
      producer: 'reconciler-operator',
      actor: 'alice',
      reason: who.reason,
    });
    expect(sent!.observationId).not.toBe(last.observationId);
    expect(r).toMatchObject({ found: true, mode: 'reapply', message: sent });
    const [row] = await auditRows();
    expect(row).toMatchObject({
      tool: 'operator',
      correlation_id: 'run-1',
      after_state: {
        mode: 'reapply',
        observation_id: sent!.observationId,
        replayed_observation_id: last.observationId,
      },
    });
  });
});
