import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { acceptRefund, refundObservationByNumber } from '@paysync/orders';
import { checkInvariants, eventually } from '@paysync/testkit';
import { createReconcilerWorld, type TestOrder } from '../world.ts';

type World = Awaited<ReturnType<typeof createReconcilerWorld>>;
let world: World;

// The notify URL WeChat is given: nothing listens there, so every refund notification is lost and
// only the sweep can learn how a refund ended.
const NOTIFY_URL = 'https://127.0.0.1:1/api/payment/wechat/callback';
const REFUNDS = { refunds: { notifyUrl: NOTIFY_URL, limit: 100 } };

beforeAll(async () => {
  world = await createReconcilerWorld('rc_refunds');
});

afterAll(async () => {
  await world?.close();
});

beforeEach(async () => {
  await world.waitUntilConsumed();
  await world.reset();
});

/** An order paid at WeChat and settled here (1000 fen, 1100 points credited). */
async function paidOrder(): Promise<TestOrder> {
  const [order] = await world.createOrders(1);
  world.pay(order!);
  await world.sweep();
  await world.waitUntilConsumed();
  expect((await world.order(order!.outTradeNo))?.status).toBe('paid');
  return order!;
}

async function accept(order: TestOrder, amountFen: number, merchantRefundNo: string) {
  const a = await acceptRefund(
    world.pool,
    {
      outTradeNo: order.outTradeNo,
      merchantRefundNo,
      amountFen,
      reason: 'customer asked',
      origin: 'payctl',
      requestedBy: 'test',
    },
    { now: new Date() },
  );
  if (a.kind !== 'accepted') throw new Error(`refund not accepted: ${a.kind}`);
  return a.refund;
}

async function refund(outRefundNo: string) {
  const [rows] = await world.pool.query<import('@paysync/db').RowDataPacket[]>(
    'SELECT * FROM payment_refunds WHERE out_refund_no = ?',
    [outRefundNo],
  );
  return rows[0]!;
}

/** Makes every refund under way due now (instead of waiting out the back-off). */
async function due(): Promise<void> {
  await world.pool.query(
    "UPDATE payment_refunds SET next_check_at = NOW(3) WHERE status IN ('processing', 'abnormal')",
  );
}

async function balance(userId: string): Promise<number> {
  const [rows] = await world.pool.query<import('@paysync/db').RowDataPacket[]>(
    'SELECT balance FROM point_accounts WHERE user_id = ?',
    [userId],
  );
  return Number(rows[0]?.balance ?? 0);
}

/**
 * The invariants, with every refund paysync made for this order counted as WeChat's truth. (A
 * refund made in the merchant platform without a notification is not known here until the trade
 * bill names it: the next issue's reconciliation, not the sweep's.)
 */
async function invariantsHold(order: TestOrder, sources = ['api']): Promise<void> {
  const refundsAtWeChat = world.sandbox
    .refunds()
    .filter(
      (r) => r.status === 'SUCCESS' && r.out_trade_no === order.outTradeNo && sources.includes(r.source),
    )
    .map((r) => ({ outTradeNo: r.out_trade_no, outRefundNo: r.out_refund_no, amount: r.amount.refund }));
  expect((await checkInvariants(world.pool, { refundsAtWeChat })).violations).toEqual([]);
}

describe('the refund sweep', () => {
  it('sends an accepted refund, and learns its end by asking when the notification is lost', async () => {
    const order = await paidOrder();
    const r = await accept(order, 500, 'MR-SWEEP-1');
    expect(r).toMatchObject({ status: 'processing', holdPoints: 550, submittedAt: null });

    // First run: the create (same number, paysync's notify URL); WeChat answers PROCESSING.
    await due();
    const first = await world.sweep(REFUNDS);
    expect(first.exitCode).toBe(0);
    const atWeChat = world.sandbox.getRefund(r.outRefundNo);
    expect(atWeChat).toMatchObject({
      out_trade_no: order.outTradeNo,
      notify_url: NOTIFY_URL,
      amount: { refund: 500 },
    });
    await world.waitUntilConsumed();
    expect(await refund(r.outRefundNo)).toMatchObject({ status: 'processing', hold_released_at: null });
    expect(await balance(order.userId)).toBe(1100);

    // WeChat completed it; the notification never arrived. The next due run asks and applies it.
    await due();
    await world.sweep(REFUNDS);
    await world.waitUntilConsumed();
    const done = await refund(r.outRefundNo);
    expect(done).toMatchObject({ status: 'succeeded', wechat_status: 'SUCCESS', reversed_points: 550 });
    expect(done.hold_released_at).not.toBeNull();
    expect(await balance(order.userId)).toBe(550);

    // Asked again (a replayed answer, another run): nothing is reversed twice.
    await world.pool.query(
      "UPDATE payment_refunds SET status = 'processing', hold_released_at = NULL WHERE out_refund_no = ?",
      [r.outRefundNo],
    );
    await due();
    await world.sweep(REFUNDS);
    await world.waitUntilConsumed();
    expect(await balance(order.userId)).toBe(550);
    await invariantsHold(order);
  });

  it('sends a refund again with the same number after WeChat accepted it but the answer was lost', async () => {
    const order = await paidOrder();
    const r = await accept(order, 1000, 'MR-SWEEP-2');
    // Every attempt of the first run (the client's own retries included) loses WeChat's answer.
    world.sandbox.setFaults({ loseNextRefundAnswers: 10 });
    await due();
    await world.sweep(REFUNDS);
    world.sandbox.resetFaults();
    const lost = await refund(r.outRefundNo);
    expect(lost).toMatchObject({ status: 'processing', submitted_at: null });
    expect(lost.last_error).toMatch(/500/);
    expect(world.sandbox.refunds().filter((x) => x.out_trade_no === order.outTradeNo)).toHaveLength(1);

    await due();
    await world.sweep(REFUNDS);
    await world.waitUntilConsumed();
    await due();
    await world.sweep(REFUNDS);
    await world.waitUntilConsumed();
    // One refund at WeChat, one reversal here: every credited point, once.
    expect(world.sandbox.refunds().filter((x) => x.out_trade_no === order.outTradeNo)).toHaveLength(1);
    expect(await refund(r.outRefundNo)).toMatchObject({ status: 'succeeded', reversed_points: 1100 });
    expect(await balance(order.userId)).toBe(0);
    expect((await world.order(order.outTradeNo))?.status).toBe('refunded');
    await invariantsHold(order);
  });

  it('applies nothing from an answer that names another refund, and goes on with the next refund', async () => {
    const order = await paidOrder();
    const other = await paidOrder();
    const odd = await accept(order, 300, 'MR-SWEEP-ODD');
    const next = await accept(other, 400, 'MR-SWEEP-NEXT');
    await due();
    await world.sweep(REFUNDS); // both sent; WeChat answers PROCESSING
    await world.waitUntilConsumed();

    // WeChat completed both. A client that, asking about the first, gets WeChat's signed answer
    // about the second: a real signature over the wrong refund.
    const [a, b] = [odd, next];
    const wrong: typeof world.client = Object.create(world.client);
    wrong.queryRefund = (outRefundNo: string, mchid?: string) =>
      world.client.queryRefund(outRefundNo === a!.outRefundNo ? b!.outRefundNo : outRefundNo, mchid);
    await due();
    const run = await world.sweep(REFUNDS, { wechat: wrong });
    expect(run.exitCode).toBe(0);
    expect(run.refunds).toMatchObject({ status: 'ok', checked: 2, mismatched: 1 });
    await world.waitUntilConsumed();
    // Nothing of the mismatched answer applied to the refund asked about; the other one ended.
    expect(await refund(a!.outRefundNo)).toMatchObject({
      status: 'processing',
      last_error: 'the answer names another refund or order',
    });
    expect(await refund(b!.outRefundNo)).toMatchObject({ status: 'succeeded' });

    // Asked again with an honest client, it ends too; every point reversed once.
    await due();
    await world.sweep(REFUNDS);
    await world.waitUntilConsumed();
    expect(await refund(a!.outRefundNo)).toMatchObject({ status: 'succeeded' });
    expect(await balance(order.userId)).toBe(1100 - 330);
    expect(await balance(other.userId)).toBe(1100 - 440);
    await invariantsHold(order);
    await invariantsHold(other);
  });

  it('retries NOT_ENOUGH and SYSTEM_ERROR with the same number; a refusal ends the refund and its hold', async () => {
    const order = await paidOrder();
    const retried = await accept(order, 300, 'MR-SWEEP-3');
    world.sandbox.setFaults({ refundNotEnoughNext: 1 });
    await due();
    await world.sweep(REFUNDS);
    expect(await refund(retried.outRefundNo)).toMatchObject({ status: 'processing', submitted_at: null });
    expect((await refund(retried.outRefundNo)).last_error).toMatch(/NOT_ENOUGH/);

    // Meanwhile the merchant platform refunds the rest: the second refund no longer fits at WeChat.
    const refused = await accept(order, 700, 'MR-SWEEP-4');
    world.sandbox.refund(order.outTradeNo, { amount: 700, notify: false });
    await due();
    await world.sweep(REFUNDS);
    await world.waitUntilConsumed();
    expect(await refund(retried.outRefundNo)).toMatchObject({ submitted_at: expect.any(Date) });
    const rejected = await refund(refused.outRefundNo);
    expect(rejected).toMatchObject({ status: 'rejected', failure_code: 'INVALID_REQUEST' });
    expect(rejected.hold_released_at).not.toBeNull();

    await due();
    await world.sweep(REFUNDS);
    await world.waitUntilConsumed();
    expect(await refund(retried.outRefundNo)).toMatchObject({ status: 'succeeded', reversed_points: 330 });
    await invariantsHold(order);
  });

  it('keeps the hold of an ABNORMAL refund and alerts; a person resolves it at WeChat, the sweep learns it', async () => {
    const order = await paidOrder();
    world.sandbox.setFaults({ refundOutcome: 'ABNORMAL' });
    const r = await accept(order, 1000, 'MR-SWEEP-5');
    await due();
    await world.sweep(REFUNDS);
    world.sandbox.resetFaults();
    await due();
    await world.sweep(REFUNDS);
    await world.waitUntilConsumed();
    const abnormal = await refund(r.outRefundNo);
    expect(abnormal).toMatchObject({ status: 'abnormal', hold_points: 1100, hold_released_at: null });
    // The ledger raised the alert; the test's collector receives it a moment later.
    await eventually('the refund_abnormal alert', async () =>
      world.alerts.find((a) => a.type === 'refund_abnormal' && a.outTradeNo === order.outTradeNo),
    );
    expect(await balance(order.userId)).toBe(1100);

    world.sandbox.settleRefund(r.outRefundNo, { status: 'SUCCESS', notify: false });
    await due();
    await world.sweep(REFUNDS);
    await world.waitUntilConsumed();
    expect(await refund(r.outRefundNo)).toMatchObject({ status: 'succeeded', reversed_points: 1100 });
    expect(await balance(order.userId)).toBe(0);
    await invariantsHold(order);
  });
});

describe('a refund made in the merchant platform, found by its number', () => {
  it('is asked about and applied like its notification: one reversal, a row of origin wechat', async () => {
    const order = await paidOrder();
    // Customer service refunds in the merchant platform; WeChat never notifies paysync.
    const made = world.sandbox.refund(order.outTradeNo, { amount: 250, notify: false });
    await eventually('the refund to complete at WeChat', async () =>
      world.sandbox.getRefund(made.out_refund_no)?.status === 'SUCCESS' ? true : undefined,
    );
    const observation = await refundObservationByNumber(
      world.client,
      { outRefundNo: made.out_refund_no, mchid: world.sandbox.merchant!.mchid },
      { observationId: randomUUID(), source: 'query', observedAt: new Date(), producer: 'reconciler' },
    );
    // Found twice (two bill runs): applied once.
    await world.publisher.observations([observation]);
    await world.publisher.observations([{ ...observation, observationId: randomUUID() }]);
    await world.publisher.idle();
    await world.waitUntilConsumed();
    expect(await refund(made.out_refund_no)).toMatchObject({
      origin: 'wechat',
      status: 'succeeded',
      amount_fen: 250,
      hold_points: 0,
      reversed_points: 275,
    });
    expect(await balance(order.userId)).toBe(1100 - 275);
    await invariantsHold(order, ['merchant_platform']);
  });
});
