import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually } from '@paysync/testkit';
import { createGatewayWorld, createNativeOrder, type GatewayWorld, READ_TOKEN, type Rows } from '../world.ts';

const ORDERS = '/api/payment/orders';
let world: GatewayWorld;

beforeAll(async () => {
  world = await createGatewayWorld('gw_refunds', { confirmWaitMs: 10_000 });
  await world.startLedger();
});

afterAll(async () => {
  await world?.close();
});

const refundsOf = (no: string) => `${ORDERS}/${no}/refunds`;
const merchantRefundNo = () => `MR${randomBytes(8).toString('hex')}`;

async function query(sql: string, params: unknown[]): Promise<Rows> {
  const [rows] = await world.pool.query<Rows>(sql, params);
  return rows;
}

/** An order of `fen` fen and `points` points (no bonus), paid at WeChat and settled by the ledger. */
async function paidOrder(fen = 300, points = 100): Promise<{ no: string; user: string }> {
  const user = `user-${randomBytes(4).toString('hex')}`;
  const no = await createNativeOrder(world, { amount_fen: fen, points, bonus_points: 0, user_id: user });
  world.sandbox.pay(no);
  await eventually('the payment to settle', async () => {
    const [o] = await query('SELECT status FROM payment_orders WHERE out_trade_no = ?', [no]);
    return o?.status === 'paid' ? true : undefined;
  });
  return { no, user };
}

async function refundRow(outRefundNo: string) {
  const [r] = await query('SELECT * FROM payment_refunds WHERE out_refund_no = ?', [outRefundNo]);
  return r as Rows[number];
}

async function balance(user: string): Promise<number> {
  const [a] = await query('SELECT balance FROM point_accounts WHERE user_id = ?', [user]);
  return Number(a?.balance ?? 0);
}

async function until<T>(what: string, probe: () => Promise<T | undefined>) {
  return eventually(what, probe, { timeoutMs: 20_000 });
}

describe('POST /api/payment/orders/:out_trade_no/refunds', () => {
  it('refunds part of a paid order at WeChat, holds then reverses its points exactly once', async () => {
    const { no, user } = await paidOrder(300, 100);
    // Hold the refund's completion so that the hold can be seen before the reversal.
    world.sandbox.setFaults({ dropNotificationShare: 1 });
    let outRefundNo: string;
    try {
      const body = { merchant_refund_no: merchantRefundNo(), amount_fen: 100, reason: '用户申请退款' };
      const res = await world.api('POST', refundsOf(no), body);
      expect(res.status).toBe(201);
      expect(res.json).toMatchObject({
        out_trade_no: no,
        merchant_refund_no: body.merchant_refund_no,
        amount_fen: 100,
        reason: '用户申请退款',
        origin: 'api',
        submitted: true,
        hold_points: 33,
        created: true,
      });
      outRefundNo = res.json.out_refund_no as string;
      // WeChat was asked with the same out_refund_no, paysync's notify URL and the order's total.
      const atWeChat = world.sandbox.order(no);
      expect(atWeChat.trade_state).toBe('REFUND');

      // The same request again: the same refund, nothing new at WeChat.
      const again = await world.api('POST', refundsOf(no), body);
      expect(again.status).toBe(200);
      expect(again.json).toMatchObject({ out_refund_no: outRefundNo, created: false });
      expect(await query('SELECT * FROM payment_refunds WHERE out_trade_no = ?', [no])).toHaveLength(1);

      // The same merchant_refund_no asking for something else is a conflict.
      const other = await world.api('POST', refundsOf(no), { ...body, amount_fen: 50 });
      expect(other.status).toBe(409);
      expect(other.json).toMatchObject({ code: 'MERCHANT_REFUND_NO_CONFLICT', out_refund_no: outRefundNo });
    } finally {
      world.sandbox.resetFaults();
    }

    // The refund completed at WeChat, but its notification was lost: the points are still held.
    const held = await refundRow(outRefundNo);
    expect(held).toMatchObject({ status: 'processing', hold_points: 33 });
    expect(held.hold_released_at).toBeNull();
    expect(await balance(user)).toBe(100);

    // Nothing reversed on the create's PROCESSING answer: only WeChat's SUCCESS reverses (the
    // reconciler's refund sweep recovers the lost notification: see its tests).
    await world.waitUntilLedgerConsumed();
    const journal = await query(
      "SELECT outcome FROM order_observations WHERE out_trade_no = ? AND trade_state = 'REFUND'",
      [no],
    );
    expect(journal.map((j) => j.outcome)).toEqual(['unchanged']);
  });

  it('refuses what cannot be refunded, with a clear code', async () => {
    const { no } = await paidOrder(300, 100);
    const cases: [Record<string, unknown>, number, string][] = [
      [{ merchant_refund_no: merchantRefundNo(), amount_fen: 0 }, 400, 'VALIDATION_FAILED'],
      [{ merchant_refund_no: merchantRefundNo(), amount_fen: 301 }, 400, 'AMOUNT_EXCEEDS_REFUNDABLE'],
      [{ merchant_refund_no: merchantRefundNo(), amount_fen: 1.5 }, 400, 'VALIDATION_FAILED'],
      [{ amount_fen: 10 }, 400, 'VALIDATION_FAILED'],
      [{ merchant_refund_no: merchantRefundNo(), amount_fen: 10, extra: 1 }, 400, 'VALIDATION_FAILED'],
    ];
    for (const [body, status, code] of cases) {
      const res = await world.api('POST', refundsOf(no), body);
      expect([res.status, res.json.code]).toEqual([status, code]);
    }
    const over = await world.api('POST', refundsOf(no), {
      merchant_refund_no: merchantRefundNo(),
      amount_fen: 301,
    });
    expect(over.json.refundable_fen).toBe(300);

    const pending = await createNativeOrder(world);
    const unpaid = await world.api('POST', refundsOf(pending), {
      merchant_refund_no: merchantRefundNo(),
      amount_fen: 1,
    });
    expect([unpaid.status, unpaid.json.code]).toEqual([400, 'ORDER_NOT_PAID']);

    const missing = await world.api('POST', refundsOf(`${pending.slice(0, 28)}NONE`), {
      merchant_refund_no: merchantRefundNo(),
      amount_fen: 1,
    });
    expect([missing.status, missing.json.code]).toEqual([404, 'ORDER_NOT_FOUND']);
    const readOnly = await world.api(
      'POST',
      refundsOf(no),
      { merchant_refund_no: merchantRefundNo(), amount_fen: 1 },
      READ_TOKEN,
    );
    expect(readOnly.status).toBe(403);
    expect(await query('SELECT * FROM payment_refunds WHERE out_trade_no IN (?, ?)', [no, pending])).toEqual(
      [],
    );
  });

  it('decides two requests racing for the last refundable fen one after the other', async () => {
    const { no } = await paidOrder(300, 100);
    const [a, b] = await Promise.all(
      [1, 2].map(() =>
        world.api('POST', refundsOf(no), { merchant_refund_no: merchantRefundNo(), amount_fen: 200 }),
      ),
    );
    expect([a?.status, b?.status].sort()).toEqual([201, 400]);
    const loser = a?.status === 400 ? a : b;
    expect(loser?.json).toMatchObject({ code: 'AMOUNT_EXCEEDS_REFUNDABLE', refundable_fen: 100 });
  });

  it('reverses every point after refunds adding up to the total, and lists them', async () => {
    const { no, user } = await paidOrder(300, 100);
    const made: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const res = await world.api('POST', refundsOf(no), {
        merchant_refund_no: merchantRefundNo(),
        amount_fen: 100,
      });
      expect(res.status).toBe(201);
      made.push(res.json.out_refund_no as string);
    }
    await until('every refund to succeed', async () => {
      const rows = await query(
        "SELECT * FROM payment_refunds WHERE out_trade_no = ? AND status = 'succeeded'",
        [no],
      );
      return rows.length === 3 ? rows : undefined;
    });
    expect(await balance(user)).toBe(0);
    const reversals = await query(
      "SELECT reference_no, points_delta FROM point_transactions WHERE out_trade_no = ? AND entry_type = 'refund_reversal'",
      [no],
    );
    expect(reversals.map((r) => r.reference_no).sort()).toEqual([...made].sort());
    expect(reversals.reduce((n, r) => n + Number(r.points_delta), 0)).toBe(-100);
    const unreleased = await query(
      'SELECT * FROM payment_refunds WHERE out_trade_no = ? AND hold_released_at IS NULL',
      [no],
    );
    expect(unreleased).toEqual([]);

    const list = await world.api('GET', refundsOf(no), undefined, READ_TOKEN);
    expect(list.status).toBe(200);
    expect((list.json.refunds as { out_refund_no: string; status: string }[]).map((r) => r.status)).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
    ]);
    const one = await world.api('GET', `${refundsOf(no)}/${made[0]}`, undefined, READ_TOKEN);
    expect(one.json).toMatchObject({ out_refund_no: made[0], status: 'succeeded', reversed_points: 33 });
    const none = await world.api('GET', `${refundsOf(no)}/RFNOSUCHREFUND`, undefined, READ_TOKEN);
    expect([none.status, none.json.code]).toEqual([404, 'REFUND_NOT_FOUND']);

    const fourth = await world.api('POST', refundsOf(no), {
      merchant_refund_no: merchantRefundNo(),
      amount_fen: 1,
    });
    expect(fourth.json).toMatchObject({ code: 'AMOUNT_EXCEEDS_REFUNDABLE', refundable_fen: 0 });
  });

  it('keeps a refund WeChat could not be reached for, to be sent again with the same number', async () => {
    const { no } = await paidOrder(300, 100);
    world.sandbox.setFaults({ failNextQueries: 20, failStatus: 503, faultScope: 'api' });
    let outRefundNo: string;
    try {
      const res = await world.api('POST', refundsOf(no), {
        merchant_refund_no: merchantRefundNo(),
        amount_fen: 150,
      });
      expect(res.status).toBe(201);
      expect(res.json).toMatchObject({ status: 'processing', submitted: false, hold_points: 50 });
      outRefundNo = res.json.out_refund_no as string;
    } finally {
      world.sandbox.resetFaults();
    }
    const row = await refundRow(outRefundNo);
    expect(row.last_error).toMatch(/503/);
    expect(world.sandbox.order(no).trade_state).toBe('SUCCESS');
    // Asked again by the merchant back end: sent again, with the same out_refund_no.
    const again = await world.api('GET', `${refundsOf(no)}/${outRefundNo}`, undefined, READ_TOKEN);
    expect(again.json.submitted).toBe(false);
  });
});
