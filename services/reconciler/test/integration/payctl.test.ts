import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { type Io, runPayctl } from '@paysync/cli';
import { encodeMessage, TOPICS } from '@paysync/contracts';
import type { RowDataPacket } from '@paysync/db';
import { publish } from '@paysync/kafka';
import { queryAnswer } from '@paysync/orders';
import { answerObservation } from '@paysync/reconcile';
import { checkInvariants, eventually, type WeChatPaidOrder } from '@paysync/testkit';
import { createReconcilerWorld, type ReconcilerWorld } from '../world.ts';

// payctl against the whole system: the sandbox, real Kafka and MariaDB, and the points-ledger.
let world: ReconcilerWorld;
let env: Record<string, string>;
beforeAll(async () => {
  world = await createReconcilerWorld('rec_payctl', {
    sandbox: { faults: { notifyUnreachable: 'refused' } },
  });
  env = await world.processEnv('payctl');
});
afterAll(async () => {
  await world?.close();
});
beforeEach(async () => {
  await world.reset();
  world.sandbox.setFaults({ notifyUnreachable: 'refused' });
});

async function payctl(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (t) => out.push(t), err: (t) => err.push(t), env, interactive: false, color: false };
  const code = await runPayctl(argv, io);
  return { code, out: out.join(''), err: err.join('') };
}

/** Every row of every table an operator action could touch, in a stable order. */
async function snapshot(): Promise<string> {
  const tables = {
    payment_orders: 'id',
    order_observations: 'id',
    operator_audit_log: 'id',
    point_transactions: 'id',
    point_accounts: 'user_id',
    alert_deliveries: 'id',
  };
  const dump: Record<string, unknown> = {};
  for (const [table, key] of Object.entries(tables)) {
    const [rows] = await world.pool.query<RowDataPacket[]>(`SELECT * FROM ${table} ORDER BY ${key}`);
    dump[table] = rows;
  }
  return JSON.stringify(dump);
}

async function observationOffsets(): Promise<string> {
  const admin = world.kafka.admin();
  await admin.connect();
  try {
    return JSON.stringify(await admin.fetchTopicOffsets(world.topics.paymentObservations));
  } finally {
    await admin.disconnect();
  }
}

/** 10 orders: 6 paid at WeChat (never notified), 2 unpaid past our expiry, 2 unpaid and payable. */
async function incidentOrders() {
  const open = await world.createOrders(8);
  const expired = await world.createOrders(2, { dbTimeExpire: new Date(Date.now() - 60_000) });
  const paid: WeChatPaidOrder[] = open.slice(0, 6).map((o) => world.pay(o));
  return { paid, expired, open: open.slice(6) };
}

describe('payctl repair', () => {
  it('--dry-run prints what would change and why, and changes nothing anywhere', async () => {
    const { expired } = await incidentOrders();
    const before = await snapshot();
    const offsets = await observationOffsets();

    const text = await payctl(
      'repair',
      '--status',
      'pending',
      '--from',
      '1h',
      '--to',
      'now',
      '--dry-run',
      '--actor',
      'alice',
    );
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^DRY RUN: WeChat was queried; nothing was closed, published or written\./);
    expect(text.out.match(/→ paid/g)).toHaveLength(6);
    expect(text.out.match(/would close, publish/g)).toHaveLength(2);

    const asJson = await payctl(
      '--json',
      'repair',
      '--from',
      '1h',
      '--to',
      'now',
      '--dry-run',
      '--actor',
      'alice',
    );
    const report = JSON.parse(asJson.out) as {
      rows: { wouldBecome: string; before: string }[];
      selection: { selected: number };
    };
    expect(report.selection.selected).toBe(10);
    const becomes = report.rows.map((r) => r.wouldBecome).sort();
    expect(becomes).toEqual([
      'expired',
      'expired',
      'paid',
      'paid',
      'paid',
      'paid',
      'paid',
      'paid',
      'pending',
      'pending',
    ]);

    expect(await snapshot()).toBe(before);
    expect(await observationOffsets()).toBe(offsets);
    for (const o of expired) expect(world.sandbox.order(o.outTradeNo).trade_state).toBe('NOTPAY');
  });

  it('without --dry-run repairs every order, closes the expired ones, and leaves an audit record for each', async () => {
    const { paid, expired, open } = await incidentOrders();
    const refused = await payctl('repair', '--from', '1h', '--to', 'now', '--actor', 'alice');
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/--reason is required/);

    const r = await payctl(
      'repair',
      '--status',
      'pending',
      '--from',
      '1h',
      '--to',
      'now',
      '--actor',
      'alice',
      '--reason',
      'INC-1234 notify URL was localhost',
      '--wait',
      '30s',
    );
    expect(r.code).toBe(0);
    expect(r.out.match(/→ paid/g)).toHaveLength(6);
    expect(r.out.match(/→ expired/g)).toHaveLength(2);
    expect(await world.statuses()).toEqual({ paid: 6, expired: 2, pending: 2 });
    for (const o of expired) expect(world.sandbox.order(o.outTradeNo).trade_state).toBe('CLOSED');
    expect((await checkInvariants(world.pool, { paidAtWeChat: paid })).violations).toEqual([]);

    const [audit] = await world.pool.query<RowDataPacket[]>('SELECT * FROM operator_audit_log ORDER BY id');
    expect(audit).toHaveLength(10);
    const parse = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
    expect(new Set(audit.map((a) => a.correlation_id)).size).toBe(1);
    for (const a of audit) {
      expect(a).toMatchObject({
        actor: 'alice',
        tool: 'payctl',
        action: 'repair',
        dry_run: 0,
        reason: 'INC-1234 notify URL was localhost',
      });
      expect(parse(a.before_state)).toMatchObject({ status: 'pending' });
    }
    const afterOf = (no: string) => parse(audit.find((a) => a.out_trade_no === no)!.after_state);
    expect(afterOf(paid[0]!.outTradeNo)).toMatchObject({
      order: { status: 'paid' },
      wechat_state: 'SUCCESS',
      outcome: 'paid',
      ledger: [{ outcome: 'settled', status_before: 'pending', status_after: 'paid' }],
    });
    expect(afterOf(expired[0]!.outTradeNo)).toMatchObject({
      order: { status: 'expired' },
      closed_at_wechat: true,
      outcome: 'closed',
    });
    expect(afterOf(open[0]!.outTradeNo)).toMatchObject({
      order: { status: 'pending' },
      wechat_state: 'NOTPAY',
    });
    // The observations carry who and why.
    const [journal] = await world.pool.query<RowDataPacket[]>(
      'SELECT payload FROM order_observations WHERE out_trade_no = ?',
      [paid[0]!.outTradeNo],
    );
    expect(parse(journal[0]!.payload)).toMatchObject({
      producer: 'payctl',
      actor: 'alice',
      reason: 'INC-1234 notify URL was localhost',
    });
  });
});

describe('payctl order, sync and replay', () => {
  it('shows the difference, syncs the order, and replays its last observation (order-settled resent, nothing changed)', async () => {
    const [order] = await world.createOrders(1);
    const paidAt = world.pay(order!);

    const before = await payctl('--json', 'order', order!.outTradeNo);
    // Differences with WeChat Pay: exit 3, for scripts.
    expect(before.code).toBe(3);
    const view = JSON.parse(before.out) as { differences: { field: string }[]; wechat: { state: string } };
    expect(view.wechat.state).toBe('SUCCESS');
    expect(view.differences.map((d) => d.field)).toEqual(['status']);
    const text = await payctl('order', order!.outTradeNo);
    expect(text.out).toMatch(/status: ours pending, WeChat SUCCESS — paid at WeChat but not here/);

    const synced = await payctl(
      'sync',
      order!.outTradeNo,
      '--actor',
      'bob',
      '--reason',
      'user complaint #77',
    );
    expect(synced.code).toBe(0);
    expect((await world.order(order!.outTradeNo))!.status).toBe('paid');

    const afterRun = await payctl('--json', 'order', order!.outTradeNo);
    expect(afterRun.code).toBe(0);
    const after = JSON.parse(afterRun.out) as {
      differences: unknown[];
      journal: { tradeState: string; outcome: string }[];
      ledger: { entry_type: string }[];
    };
    expect(after.differences).toEqual([]);
    expect(after.journal.map((j) => [j.tradeState, j.outcome])).toEqual([['SUCCESS', 'settled']]);
    expect(after.ledger.map((l) => l.entry_type)).toEqual(['recharge']);

    await eventually('the first order-settled', async () =>
      world.settled.find((s) => s.outTradeNo === order!.outTradeNo),
    );
    // A dry run names the evidence it would re-send but does not print it: a query answer's body
    // carries the payer's openid in clear.
    const dry = await payctl('--json', 'replay', order!.outTradeNo, '--dry-run', '--actor', 'bob');
    expect(dry.code).toBe(0);
    expect(dry.out).not.toContain('openid');
    expect(JSON.parse(dry.out).observation.evidence).toEqual({
      kind: 'answer',
      serial: expect.any(String),
      signedAt: expect.any(String),
    });
    const dbBefore = await snapshot();
    const replayed = await payctl(
      'replay',
      order!.outTradeNo,
      '--actor',
      'bob',
      '--reason',
      'shop missed the event',
    );
    expect(replayed.code).toBe(0);
    await eventually('order-settled to be published again', async () =>
      world.settled.filter((s) => s.outTradeNo === order!.outTradeNo).length === 2 ? true : undefined,
    );
    const [audit] = await world.pool.query<RowDataPacket[]>(
      "SELECT * FROM operator_audit_log WHERE action = 'replay'",
    );
    expect(audit).toHaveLength(1);
    // Only the audit log changed: the ledger treated the repeat as one.
    const [entries] = await world.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM point_transactions');
    expect(Number(entries[0]!.n)).toBe(1);
    expect(JSON.parse(await snapshot()).payment_orders).toEqual(JSON.parse(dbBefore).payment_orders);
    expect((await checkInvariants(world.pool, { paidAtWeChat: [paidAt] })).violations).toEqual([]);
  });

  it('says so when an order is not in the database (exit 1)', async () => {
    const r = await payctl('sync', 'RCNOTHERE000001', '--actor', 'bob', '--reason', 'check');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/RCNOTHERE000001 is not in the database/);
  });
});

describe('payctl dlq', () => {
  it('lists an observation the ledger could not apply and retries it once the order exists', async () => {
    // A genuine payment, signed by WeChat, for an order whose row was lost.
    const [order] = await world.createOrders(1, { tag: 'D' });
    const outTradeNo = order!.outTradeNo;
    const m = world.sandbox.merchant!;
    const paid = world.pay(order!);
    await world.pool.query('DELETE FROM payment_orders WHERE out_trade_no = ?', [outTradeNo]);
    const answer = await queryAnswer(world.client, { outTradeNo, mchid: m.mchid });
    await publish(
      world.producer,
      TOPICS.paymentObservations,
      [answerObservation(answer, { outTradeNo, mchid: m.mchid }, { producer: 'test' }, new Date())],
      { destination: world.topics.paymentObservations },
    );
    await world.waitUntilConsumed();

    // The dead letter was committed with the offset in the ledger's outbox; its relay sends it to
    // the DLQ topic a moment later.
    const entry = await eventually('the dead letter on the DLQ topic', async () => {
      const listed = await payctl('--json', 'dlq', 'list');
      expect(listed.code).toBe(0);
      const { entries } = JSON.parse(listed.out) as {
        entries: { id: string; reason: string; outTradeNo: string; retriable: boolean }[];
      };
      return entries.find((e) => e.outTradeNo === outTradeNo);
    });
    expect(entry).toMatchObject({ reason: 'unknown_order', retriable: true });

    // The order row is restored; the dead-lettered payment can now be applied.
    await world.pool.query(
      `INSERT INTO payment_orders (out_trade_no, user_id, mchid, appid, trade_type, description, amount_total, points,
         status, time_expire, next_check_at) VALUES (?, 'user-dlq', ?, ?, 'NATIVE', 'points recharge', 1000, 1000, 'pending', ?, ?)`,
      [outTradeNo, m.mchid, m.appid, new Date(Date.now() + 3_600_000), new Date(Date.now() + 60_000)],
    );
    const dry = await payctl('dlq', 'retry', entry.id, '--dry-run', '--actor', 'carol');
    expect(dry.out).toMatch(/would publish again/);
    const retried = await payctl(
      'dlq',
      'retry',
      entry.id,
      '--actor',
      'carol',
      '--reason',
      'order row restored',
    );
    expect(retried.code).toBe(0);
    await world.waitUntilConsumed();
    expect((await world.order(outTradeNo))!.status).toBe('paid');
    const [audit] = await world.pool.query<RowDataPacket[]>(
      "SELECT * FROM operator_audit_log WHERE action = 'dlq_retry'",
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'carol', out_trade_no: outTradeNo });
    expect((await checkInvariants(world.pool, { paidAtWeChat: [paid] })).violations).toEqual([]);
  });

  it('refuses a forged dead letter re-sent by payctl dlq retry like any other forgery', async () => {
    const [order] = await world.createOrders(1, { tag: 'F' });
    const m = world.sandbox.merchant!;
    const forged = encodeMessage(TOPICS.paymentObservations, {
      observationId: randomUUID(),
      outTradeNo: order!.outTradeNo,
      source: 'notification',
      observedAt: new Date().toISOString(),
      producer: 'callback-gateway',
      mchid: m.mchid,
      appid: m.appid,
      tradeState: 'SUCCESS',
      transactionId: `4200${Date.now()}`,
      amount: { total: order!.amountTotal, currency: 'CNY' },
      successTime: new Date().toISOString(),
    }).value;
    await publish(
      world.producer,
      TOPICS.paymentObservationsDlq,
      [
        {
          reason: 'processing_failed',
          reasonDetail: 'lock wait timeout',
          originalValue: forged,
          originalTopic: world.topics.paymentObservations,
          originalPartition: 0,
          originalOffset: '0',
          outTradeNo: order!.outTradeNo,
          failedAt: new Date().toISOString(),
        },
      ],
      { destination: world.topics.paymentObservationsDlq },
    );
    const listed = await payctl('--json', 'dlq', 'list');
    const { entries } = JSON.parse(listed.out) as { entries: { id: string; outTradeNo: string }[] };
    const entry = entries.find((e) => e.outTradeNo === order!.outTradeNo)!;
    const retried = await payctl('dlq', 'retry', entry.id, '--actor', 'mallory', '--reason', 'please');
    expect(retried.code).toBe(0);
    await world.waitUntilConsumed();
    expect((await world.order(order!.outTradeNo))!.status).toBe('pending');
    const [journal] = await world.pool.query<RowDataPacket[]>(
      'SELECT outcome FROM order_observations WHERE out_trade_no = ?',
      [order!.outTradeNo],
    );
    expect(journal.map((r) => r.outcome)).toEqual(['unverified']);
    const alert = await eventually('the unverified-observation alert', async () =>
      world.alerts.find((a) => a.type === 'unverified_observation' && a.outTradeNo === order!.outTradeNo),
    );
    expect(alert).toMatchObject({ severity: 'critical', details: { producer: 'callback-gateway' } });
  });
});

describe('payctl refund', () => {
  it('checks a refund in a dry run, then refunds with the actor audited, and shows it in payctl order', async () => {
    const [order] = await world.createOrders(1);
    world.pay(order!);
    await world.sweep();
    await world.waitUntilConsumed();
    const refundEnv = { ...env, WECHATPAY_NOTIFY_URL: 'https://127.0.0.1:1/api/payment/wechat/callback' };
    const run = async (...argv: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const io: Io = {
        out: (t) => out.push(t),
        err: (t) => err.push(t),
        env: refundEnv,
        interactive: false,
        color: false,
      };
      return { code: await runPayctl(argv, io), out: out.join(''), err: err.join('') };
    };

    const noReason = await run('refund', order!.outTradeNo, '--amount', '400', '--actor', 'carol');
    expect(noReason.code).toBe(2);
    const tooMuch = await run(
      'refund',
      order!.outTradeNo,
      '--amount',
      '1001',
      '--actor',
      'carol',
      '--reason',
      'x',
    );
    expect(tooMuch.code).toBe(1);
    expect(tooMuch.err).toMatch(/AMOUNT_EXCEEDS_REFUNDABLE/);

    const dry = await run(
      '--json',
      'refund',
      order!.outTradeNo,
      '--amount',
      '400',
      '--dry-run',
      '--actor',
      'carol',
    );
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.out)).toMatchObject({
      dry_run: true,
      outcome: 'dry_run',
      hold_points: 440,
      refundable_fen: 1000,
    });
    expect(world.sandbox.refunds().filter((r) => r.out_trade_no === order!.outTradeNo)).toEqual([]);

    const ticket = [
      '--json',
      'refund',
      order!.outTradeNo,
      '--amount',
      '400',
      '--merchant-refund-no',
      'TICKET-991',
      '--actor',
      'carol',
      '--reason',
      'duplicate purchase, ticket 991',
    ];
    const done = await run(...ticket);
    expect(done.code).toBe(0);
    const refund = JSON.parse(done.out) as { out_refund_no: string; status: string; submitted: boolean };
    expect(refund).toMatchObject({ outcome: 'accepted', submitted: true, hold_points: 440 });
    expect(world.sandbox.getRefund(refund.out_refund_no)).toMatchObject({ amount: { refund: 400 } });
    // Run again with the same number: the same refund, never a second one at WeChat.
    const again = await run(...ticket);
    expect(JSON.parse(again.out)).toMatchObject({ outcome: 'existing', out_refund_no: refund.out_refund_no });
    expect(world.sandbox.refunds().filter((r) => r.out_trade_no === order!.outTradeNo)).toHaveLength(1);

    const [audit] = await world.pool.query<RowDataPacket[]>(
      "SELECT actor, dry_run, reason, after_state FROM operator_audit_log WHERE action = 'refund' ORDER BY id",
    );
    // Every attempt is audited, the refused one included (a usage error changes nothing and is not).
    expect(audit.map((a) => [a.actor, a.dry_run, (a.after_state as { outcome: string }).outcome])).toEqual([
      ['carol', 0, 'refused'],
      ['carol', 1, 'dry_run'],
      ['carol', 0, 'accepted'],
      ['carol', 0, 'existing'],
    ]);
    const shown = await run('order', order!.outTradeNo, '--no-wechat');
    expect(shown.out).toMatch(new RegExp(`Refunds \\(1\\)[\\s\\S]*${refund.out_refund_no}`));
  });
});
