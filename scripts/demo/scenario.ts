// The demo scenario: a stream of points-recharge orders through the gateway's order API; the
// sandbox "user" pays most of them a moment later; the sandbox loses a share of the payment
// notifications and sends some twice. paysync has to settle every paid order exactly once anyway —
// the lost ones through the reconciler, which counts and alerts each as a missed notification —
// and the orders nobody pays are closed at WeChat and expired once their time is up.

import { createPool, type Pool, type RowDataPacket } from '@paysync/db';
import { checkInvariants, type InvariantReport, type WeChatPaidOrder } from '@paysync/testkit';
import { GatewayClient, rechargeOrder, SandboxControl } from '../start/clients.ts';
import { type BillPhase, billPhase } from './bill.ts';
import { missedNotificationsCounter, type Snapshot, snapshot } from './observe.ts';
import type { DemoTarget } from './target.ts';

export type ScenarioOptions = {
  orders: number;
  /** Orders created per second. */
  rate: number;
  /** Share of notifications the sandbox loses, and share it delivers twice. */
  dropShare: number;
  duplicateShare: number;
  /** Unpaid orders expire this long after creation (the gateway's minimum is 60 s). */
  expiresInSeconds: number;
  /** The scenario stops waiting for quiet after this long. */
  deadlineMs: number;
  /** How long the refund phase waits for every refund to end (a lost notification waits for a sweep). */
  refundDeadlineMs: number;
  onProgress(p: Progress): void;
};

export type Progress = { elapsedMs: number; created: number; paidAtWeChat: number; snap: Snapshot };

/** The refunds the demo makes once the payments are settled, and how they ended. */
export type RefundPhase = {
  requested: number;
  succeeded: number;
  pointsReversed: number;
  /** Ended here only through the reconciler's query: their notification was lost. */
  learntByQuery: number;
  quiet: boolean;
};

export type ScenarioResult = {
  refunds: RefundPhase;
  bill: BillPhase;
  elapsedMs: number;
  created: number;
  paidAtWeChat: number;
  unpaid: number;
  snap: Snapshot;
  invariants: InvariantReport;
  quiet: boolean;
};

const AMOUNTS = [600, 1000, 3000, 5000, 10_000];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every order paid at WeChat paid here, every unpaid one final: nothing left for paysync to do. */
function isQuiet(s: Snapshot, created: number, paid: number): boolean {
  const settled = (s.byStatus.paid ?? 0) + (s.byStatus.refunded ?? 0);
  return (
    settled === paid &&
    (s.byStatus.pending ?? 0) === 0 &&
    Object.values(s.byStatus).reduce((a, b) => a + b, 0) === created
  );
}

/** The sandbox faults the scenario sets (the caller puts the previous values back). */
export const SCENARIO_FAULTS = [
  'dropNotificationShare',
  'duplicateNotificationShare',
  'duplicateCopies',
] as const;

export async function runScenario(target: DemoTarget, opts: ScenarioOptions): Promise<ScenarioResult> {
  const gateway = new GatewayClient(target.ordersUrl, target.apiToken);
  const sandbox = new SandboxControl(target.sandboxUrl);
  const pool: Pool = createPool({ url: target.mysqlUrl, connectionLimit: 4 });
  const started = new Date();
  const missedAtStart = await missedNotificationsCounter(target.pushgatewayUrl);
  const run = started.getTime().toString(36);
  const orders: string[] = [];
  const paidAtWeChat = new Set<string>();
  const payments: Promise<void>[] = [];
  const deps = { pool, sandbox, pushgatewayUrl: target.pushgatewayUrl };
  let latest: Snapshot | undefined;
  let stopTicker = false;

  const ticker = (async () => {
    while (!stopTicker) {
      latest = await snapshot(deps, orders, started, missedAtStart).catch(() => latest);
      if (latest) {
        opts.onProgress({
          elapsedMs: Date.now() - started.getTime(),
          created: orders.length,
          paidAtWeChat: paidAtWeChat.size,
          snap: latest,
        });
      }
      await sleep(1000);
    }
  })();

  try {
    await sandbox.setFaults({
      dropNotificationShare: opts.dropShare,
      duplicateNotificationShare: opts.duplicateShare,
      duplicateCopies: 1,
    });
    for (let i = 0; i < opts.orders; i++) {
      const user = `demo-${run}-user-${i % 8}`;
      const amount = AMOUNTS[i % AMOUNTS.length] as number;
      const order = await gateway.createOrder(rechargeOrder(user, amount, opts.expiresInSeconds), 10_000);
      orders.push(order.out_trade_no);
      // Most users pay, a second or two later; one in seven never does.
      if (i % 7 !== 3) {
        payments.push(
          sleep(500 + Math.random() * 2000)
            .then(() => sandbox.pay(order.out_trade_no))
            .then(() => void paidAtWeChat.add(order.out_trade_no)),
        );
      }
      await sleep(1000 / opts.rate);
    }
    await Promise.all(payments);

    const deadline = started.getTime() + opts.deadlineMs;
    let quiet = false;
    while (Date.now() < deadline) {
      const s = await snapshot(deps, orders, started, missedAtStart);
      if (isQuiet(s, orders.length, paidAtWeChat.size)) {
        quiet = true;
        break;
      }
      await sleep(1000);
    }
    // The alerts about the last reconciler finds are a few seconds behind it.
    if (quiet) await sleep(Math.min(8000, Math.max(0, deadline - Date.now())));

    const refunds = await refundPhase(
      gateway,
      pool,
      [...paidAtWeChat].slice(0, 6),
      run,
      opts.refundDeadlineMs,
    );
    stopTicker = true;
    await ticker;

    // T+1, run now for today: the bill of the demo's day, with two differences planted at the sandbox.
    const bill = await billPhase({
      pool,
      sandboxUrl: target.sandboxUrl,
      payctl: target.payctl,
      candidates: [...paidAtWeChat].slice(6),
      run,
      deadlineMs: opts.refundDeadlineMs,
    });

    const wechat = (await sandbox.orders()).filter((o) => paidAtWeChat.has(o.out_trade_no));
    const paid: WeChatPaidOrder[] = wechat
      .filter((o) => o.trade_state === 'SUCCESS' || o.trade_state === 'REFUND')
      .map((o) => ({
        outTradeNo: o.out_trade_no,
        transactionId: o.transaction_id as string,
        amountTotal: o.amount.total,
        mchid: o.mchid,
        appid: o.appid,
      }));
    const refundsAtWeChat = (await sandbox.refunds())
      .filter((r) => r.status === 'SUCCESS' && paidAtWeChat.has(r.out_trade_no))
      .map((r) => ({ outTradeNo: r.out_trade_no, outRefundNo: r.out_refund_no, amount: r.amount.refund }));
    const invariants = await checkInvariants(pool, { paidAtWeChat: paid, refundsAtWeChat });
    const snap = await snapshot(deps, orders, started, missedAtStart);
    return {
      refunds,
      bill,
      elapsedMs: Date.now() - started.getTime(),
      created: orders.length,
      paidAtWeChat: paid.length,
      unpaid: orders.length - paid.length,
      snap,
      invariants,
      quiet,
    };
  } finally {
    stopTicker = true;
    await ticker.catch(() => {});
    await pool.end();
  }
}

/**
 * Refunds a few settled orders through the order API as a shop's customer service would: a third,
 * the whole, and the whole in three parts. The sandbox keeps losing a share of the notifications,
 * so some refunds end only when the reconciler asks WeChat about them.
 */
async function refundPhase(
  gateway: GatewayClient,
  pool: Pool,
  orders: string[],
  run: string,
  deadlineMs: number,
): Promise<RefundPhase> {
  const [rows] = await pool.query<RowDataPacket[]>(
    "SELECT out_trade_no, amount_total FROM payment_orders WHERE out_trade_no IN (?) AND status = 'paid'",
    [orders.length > 0 ? orders : ['']],
  );
  const plans = rows.map((r, i) => {
    const total = Number(r.amount_total);
    const parts =
      i % 3 === 0 ? [Math.floor(total / 3)] : i % 3 === 1 ? [total] : [total / 2, total / 4, total / 4];
    return { no: String(r.out_trade_no), parts: parts.map(Math.floor) };
  });
  const made: string[] = [];
  for (const plan of plans) {
    for (const [k, fen] of plan.parts.entries()) {
      if (fen < 1) continue;
      const refund = await gateway.refund(plan.no, {
        merchant_refund_no: `DEMO-${run}-${plan.no.slice(-8)}-${k}`,
        amount_fen: fen,
        reason: '演示退款',
      });
      made.push(refund.out_refund_no);
    }
  }
  const deadline = Date.now() + deadlineMs;
  let quiet = false;
  let ended: RowDataPacket[] = [];
  while (Date.now() < deadline && made.length > 0) {
    [ended] = await pool.query<RowDataPacket[]>(
      "SELECT out_refund_no, status, reversed_points FROM payment_refunds WHERE out_refund_no IN (?) AND status <> 'processing'",
      [made],
    );
    if (ended.length === made.length) {
      quiet = true;
      break;
    }
    await sleep(1000);
  }
  const [viaQuery] = made.length
    ? await pool.query<RowDataPacket[]>(
        `SELECT COUNT(DISTINCT JSON_UNQUOTE(JSON_EXTRACT(payload, '$.refund.outRefundNo'))) AS n
           FROM order_observations
          WHERE source = 'query' AND outcome = 'refunded'
            AND JSON_UNQUOTE(JSON_EXTRACT(payload, '$.refund.outRefundNo')) IN (?)`,
        [made],
      )
    : [[{ n: 0 }] as RowDataPacket[]];
  return {
    requested: made.length,
    succeeded: ended.filter((r) => r.status === 'succeeded').length,
    pointsReversed: ended.reduce((n, r) => n + Number(r.reversed_points ?? 0), 0),
    learntByQuery: Number(viaQuery[0]?.n ?? 0),
    quiet: quiet || made.length === 0,
  };
}
