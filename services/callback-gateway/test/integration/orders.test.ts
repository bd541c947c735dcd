import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rsaVerify } from '@paysync/wechatpay';
import {
  API_TOKEN,
  createGatewayWorld,
  createNativeOrder,
  type GatewayWorld,
  READ_TOKEN,
  type Rows,
} from '../world.ts';

const ORDERS = '/api/payment/orders';
let world: GatewayWorld;

beforeAll(async () => {
  world = await createGatewayWorld('gw_orders', { confirmWaitMs: 10_000 });
  await world.startLedger();
});

afterAll(async () => {
  await world?.close();
});

const order = (overrides: Record<string, unknown> = {}) => ({
  merchant_order_no: `M${randomBytes(8).toString('hex')}`,
  user_id: 'user-42',
  amount_fen: 3000,
  points: 3000,
  bonus_points: 300,
  trade_type: 'NATIVE',
  description: '积分充值 3000',
  ...overrides,
});

async function row(outTradeNo: string) {
  const [rows] = await world.pool.query<Rows>('SELECT * FROM payment_orders WHERE out_trade_no = ?', [
    outTradeNo,
  ]);
  return rows[0] as Rows[number];
}

describe('POST /api/payment/orders', () => {
  it('never lets the caller pick its own rate: more points than GATEWAY_MAX_POINTS_PER_FEN allows is 400', async () => {
    // 2 points per fen here: 3000 fen may credit 6000 points, bonus included.
    const greedy = order({ amount_fen: 3000, points: 5801, bonus_points: 200 });
    const res = await world.api('POST', ORDERS, greedy);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ code: 'POINTS_EXCEED_RATE', field: 'points', max_points: 6000 });
    const [rows] = await world.pool.query<Rows>('SELECT 1 FROM payment_orders WHERE merchant_order_no = ?', [
      greedy.merchant_order_no,
    ]);
    expect(rows).toEqual([]);
    expect(
      (await world.api('POST', ORDERS, order({ amount_fen: 3000, points: 5800, bonus_points: 200 }))).status,
    ).toBe(201);
  });

  it('inserts a pending Native order with its first check scheduled and returns the code_url', async () => {
    const body = order({ expires_in_seconds: 900 });
    const res = await world.api('POST', ORDERS, body);
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({
      merchant_order_no: body.merchant_order_no,
      status: 'pending',
      amount_fen: 3000,
      points: 3000,
      bonus_points: 300,
      trade_type: 'NATIVE',
      created: true,
      payable: true,
    });
    const no = res.json.out_trade_no as string;
    const wechat = world.sandbox.order(no);
    expect(res.json.payment).toEqual({ code_url: wechat.code_url });
    expect(wechat).toMatchObject({
      notify_url: world.notifyUrl,
      amount: { total: 3000 },
      description: '积分充值 3000',
    });
    expect(Date.parse(wechat.time_expire as string)).toBe(Date.parse(res.json.time_expire));

    const r = await row(no);
    expect(r).toMatchObject({
      status: 'pending',
      user_id: 'user-42',
      amount_total: 3000,
      trade_type: 'NATIVE',
    });
    expect(r.next_check_at.getTime() - r.created_at.getTime()).toBe(60_000);
    expect(r.time_expire.getTime() - Math.floor(r.created_at.getTime() / 1000) * 1000).toBe(900_000);
  });

  it('returns signed JSAPI payment parameters and keeps the openid out of the database', async () => {
    const openid = `oJSAPI${randomBytes(8).toString('hex')}`;
    const res = await world.api('POST', ORDERS, order({ trade_type: 'JSAPI', openid }));
    expect(res.status).toBe(201);
    const pay = res.json.payment.jsapi;
    expect(pay).toMatchObject({ appId: world.merchant.appid, signType: 'RSA' });
    expect(pay.package).toBe(`prepay_id=${world.sandbox.order(res.json.out_trade_no).prepay_id}`);
    const signed = `${pay.appId}\n${pay.timeStamp}\n${pay.nonceStr}\n${pay.package}\n`;
    expect(rsaVerify(world.merchant.publicKey, signed, pay.paySign)).toBe(true);
    expect(JSON.stringify(await row(res.json.out_trade_no))).not.toContain(openid);
  });

  it('returns the same order for the same request and refuses a different one with 409', async () => {
    const body = order();
    const first = await world.api('POST', ORDERS, body);
    const again = await world.api('POST', ORDERS, body);
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({
      out_trade_no: first.json.out_trade_no,
      created: false,
      payable: true,
    });
    expect(again.json.payment).toEqual(first.json.payment);
    const [counted] = await world.pool.query<Rows>(
      'SELECT COUNT(*) AS n FROM payment_orders WHERE merchant_order_no = ?',
      [body.merchant_order_no],
    );
    expect(Number(counted[0]?.n)).toBe(1);

    const conflict = await world.api('POST', ORDERS, { ...body, amount_fen: 2999 });
    expect(conflict.status).toBe(409);
    expect(conflict.json).toMatchObject({
      code: 'MERCHANT_ORDER_NO_CONFLICT',
      field: 'merchant_order_no',
      out_trade_no: first.json.out_trade_no,
    });
  });

  it('creates one order when the same request arrives twice at once', async () => {
    const body = order();
    const [a, b] = await Promise.all([world.api('POST', ORDERS, body), world.api('POST', ORDERS, body)]);
    expect([a.status, b.status].sort()).toEqual([200, 201]);
    expect(a.json.out_trade_no).toBe(b.json.out_trade_no);
  });

  it('answers a repeat for a paid order with its state and no payment', async () => {
    const body = order();
    const first = await world.api('POST', ORDERS, body);
    world.sandbox.pay(first.json.out_trade_no);
    await world.sandbox.idle();
    await world.waitUntilLedgerConsumed();
    const again = await world.api('POST', ORDERS, body);
    expect(again.json).toMatchObject({ status: 'paid', created: false, payable: false, payment: null });
  });

  it('names the invalid field with 400', async () => {
    const res = await world.api('POST', ORDERS, order({ amount_fen: 0 }));
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ code: 'VALIDATION_FAILED', field: 'amount_fen' });
    const jsapi = await world.api('POST', ORDERS, order({ trade_type: 'JSAPI' }));
    expect(jsapi.json).toMatchObject({ code: 'VALIDATION_FAILED', field: 'openid' });
    const past = await world.api('POST', ORDERS, order({ time_expire: '2020-01-01T00:00:00+08:00' }));
    expect(past.json).toMatchObject({ code: 'VALIDATION_FAILED', field: 'time_expire' });
  });

  it('refuses a body that is not JSON', async () => {
    const bad = await world.post(ORDERS, '{"amount_fen":', {
      authorization: `Bearer ${API_TOKEN}`,
      'content-type': 'application/json',
    });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).code).toBe('INVALID_JSON');
    const form = await world.post(ORDERS, 'amount_fen=1', {
      authorization: `Bearer ${API_TOKEN}`,
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(form.status).toBe(415);
  });

  it('requires the write token', async () => {
    expect((await world.api('POST', ORDERS, order(), null)).status).toBe(401);
    expect((await world.api('POST', ORDERS, order(), 'x'.repeat(40))).status).toBe(401);
    const read = await world.api('POST', ORDERS, order(), READ_TOKEN);
    expect(read.status).toBe(403);
    expect(read.json.code).toBe('FORBIDDEN');
  });
});

describe('GET /api/payment/orders/:outTradeNo', () => {
  it('returns the order with the read token and 404 for an unknown one', async () => {
    const no = await createNativeOrder(world);
    const res = await world.api('GET', `${ORDERS}/${no}`, undefined, READ_TOKEN);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ out_trade_no: no, status: 'pending', amount_fen: 1000 });
    expect((await world.api('GET', `${ORDERS}/RCNOSUCHORDER000001`)).status).toBe(404);
    expect((await world.api('GET', `${ORDERS}/${no}`, undefined, null)).status).toBe(401);
  });

  it('with confirm, queries WeChat, publishes the observation and answers once the ledger settled it', async () => {
    const no = await createNativeOrder(world);
    // The notification never arrives (the incident), so only the confirmation can settle it.
    world.sandbox.setFaults({ notifyUnreachable: 'not_attempted' });
    try {
      world.sandbox.pay(no);
      const res = await world.api('GET', `${ORDERS}/${no}?confirm=true`, undefined, READ_TOKEN);
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({
        out_trade_no: no,
        status: 'paid',
        transaction_id: world.sandbox.order(no).transaction_id,
        confirmation: { outcome: 'settled', wechat_trade_state: 'SUCCESS' },
      });
      const observations = await world.collected();
      expect(observations.filter((o) => o.outTradeNo === no).map((o) => o.source)).toEqual(['query']);
    } finally {
      world.sandbox.resetFaults();
    }
  });

  it('with confirm, reports an unpaid order unchanged, and limits confirmations per order', async () => {
    const no = await createNativeOrder(world);
    const first = await world.api('GET', `${ORDERS}/${no}?confirm=true`);
    expect(first.json).toMatchObject({
      status: 'pending',
      confirmation: { outcome: 'unchanged', wechat_trade_state: 'NOTPAY' },
    });
    const second = await world.api('GET', `${ORDERS}/${no}?confirm=true`);
    expect(second.status).toBe(429);
    expect(second.json.code).toBe('CONFIRM_RATE_LIMITED');
    expect(Number(second.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await world.api('GET', `${ORDERS}/${no}`)).status).toBe(200);
  });

  it('still answers with the stored state when WeChat cannot be asked', async () => {
    const no = await createNativeOrder(world);
    world.sandbox.setFaults({ failNextQueries: 10, failStatus: 503 });
    try {
      const res = await world.api('GET', `${ORDERS}/${no}?confirm=true`);
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ status: 'pending', confirmation: { outcome: 'wechat_unavailable' } });
    } finally {
      world.sandbox.resetFaults();
    }
  });

  it('publishes nothing on an unsigned "no such order": it is not WeChat’s word', async () => {
    const no = await createNativeOrder(world);
    // Two orders WeChat never heard of (their prepays were lost): one answer comes back unsigned.
    const [unsigned, signed] = ['LOSA', 'LOSB'].map((tag) => `${no.slice(0, 28)}${tag}`) as [string, string];
    for (const lost of [unsigned, signed]) {
      await world.pool.query(
        `INSERT INTO payment_orders (out_trade_no, user_id, mchid, appid, trade_type, description, amount_total,
           points, time_expire, next_check_at)
         SELECT ?, user_id, mchid, appid, trade_type, description, amount_total, points, time_expire, next_check_at
           FROM payment_orders WHERE out_trade_no = ?`,
        [lost, no],
      );
    }
    world.sandbox.setFaults({ unsignedNextResponses: 1 });
    try {
      const res = await world.api('GET', `${ORDERS}/${unsigned}?confirm=true`);
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ status: 'pending', confirmation: { outcome: 'wechat_unavailable' } });
      expect(world.sandbox.counters().faults.unsignedResponses).toBe(1);
    } finally {
      world.sandbox.resetFaults();
    }
    const res = await world.api('GET', `${ORDERS}/${signed}?confirm=true`);
    expect(res.json).toMatchObject({
      confirmation: { outcome: 'unchanged', wechat_trade_state: 'ORDER_NOT_EXIST' },
    });
    const observed = (await world.collected()).filter(
      (o) => o.outTradeNo === unsigned || o.outTradeNo === signed,
    );
    expect(observed.map((o) => [o.outTradeNo, o.tradeState])).toEqual([[signed, 'ORDER_NOT_EXIST']]);
  });
  it('with confirm, never asks WeChat about another merchant’s order', async () => {
    const no = await createNativeOrder(world);
    await world.pool.query("UPDATE payment_orders SET mchid = '1900000109' WHERE out_trade_no = ?", [no]);
    const queries = () =>
      world.sandbox.counters().requests['GET /v3/pay/transactions/out-trade-no/:out_trade_no']?.['200'] ?? 0;
    const before = queries();
    const res = await world.api('GET', `${ORDERS}/${no}?confirm=true`);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ status: 'pending', confirmation: { outcome: 'unknown_merchant' } });
    expect(queries()).toBe(before);
  });
});

describe('when the prepay fails', () => {
  it('keeps the order pending, answers 502, and the same request succeeds once WeChat is back', async () => {
    const body = order();
    world.sandbox.setFaults({ down: true });
    let failed: Awaited<ReturnType<GatewayWorld['api']>>;
    try {
      failed = await world.api('POST', ORDERS, body);
    } finally {
      world.sandbox.resetFaults();
    }
    expect(failed.status).toBe(502);
    expect(failed.json).toMatchObject({ code: 'PREPAY_FAILED', wechat_error: 'NETWORK_ERROR' });
    const no = failed.json.out_trade_no as string;
    expect((await row(no)).status).toBe('pending');
    expect(() => world.sandbox.order(no)).toThrow();

    const retried = await world.api('POST', ORDERS, body);
    expect(retried.status).toBe(200);
    expect(retried.json).toMatchObject({
      out_trade_no: no,
      payable: true,
      payment: { code_url: expect.any(String) },
    });
  });
});
